#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/hash.hpp"

using caf_stream::detail::hash_table;

namespace {

// A hash that sends every key to one of four values: long probe chains.
size_t clash(const std::string& key) {
  return std::hash<std::string>{}(key) % 4;
}

size_t string_hash(const std::string& key) {
  return std::hash<std::string>{}(key);
}

} // namespace

TEST_CASE("hash_table counts like std::map, in insertion order", "[detail]") {
  auto colliding = GENERATE(false, true);
  hash_table<std::string, int64_t> t;
  std::map<std::string, int64_t> expected;
  std::vector<std::string> order;
  uint64_t seed = 3;
  for (int i = 0; i < 20000; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    auto key = "k" + std::to_string((seed >> 33) % 3000);
    if (expected.count(key) == 0)
      order.push_back(key);
    ++expected[key];
    auto h = colliding ? clash(key) : caf_stream::hash<std::string>{}(key);
    t.upsert(key, h, [] { return int64_t{1}; }, [](int64_t& v) { ++v; });
  }
  REQUIRE(t.size() == expected.size());
  size_t i = 0;
  for (auto& [key, value] : t) {
    CHECK(key == order[i]);
    CHECK(value == expected[key]);
    auto h = colliding ? clash(key) : caf_stream::hash<std::string>{}(key);
    CHECK(t.hash_at(i) == h);
    CHECK(t.find(key, h) != nullptr);
    ++i;
  }
  CHECK(t.find("absent", 17) == nullptr);
  t.clear();
  CHECK(t.empty());
  CHECK(t.find(order[0], caf_stream::hash<std::string>{}(order[0])) == nullptr);
}

TEST_CASE("hash_table clears a few entries out of many slots", "[detail]") {
  auto colliding = GENERATE(false, true);
  auto hash_of = [&](const std::string& key) {
    return colliding ? clash(key) : caf_stream::hash<std::string>{}(key);
  };
  hash_table<std::string, int> t;
  for (int i = 0; i < 5000; ++i) {
    auto key = std::to_string(i);
    t.upsert(key, hash_of(key), [] { return 1; }, [](int&) {});
  }
  t.clear();
  auto slots = t.capacity();
  // Few entries in a large table: each one's slot is cleared on its own.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      auto key = std::to_string(round * 1000 + i);
      t.upsert(key, hash_of(key), [] { return 1; }, [](int&) {});
    }
    CHECK(t.size() == 40);
    t.clear();
    CHECK(t.capacity() == slots);
    for (int i = 0; i < 5000; ++i) {
      auto key = std::to_string(i);
      REQUIRE(t.find(key, hash_of(key)) == nullptr);
    }
  }
}

TEST_CASE("scratch_table keeps its memory and nests", "[detail]") {
  using caf_stream::detail::scratch_table;
  hash_table<int, int>* first = nullptr;
  {
    scratch_table<int, int> outer;
    first = &*outer;
    (*outer).upsert(1, 1, [] { return 10; }, [](int&) {});
    {
      // In use on this thread: a nested use gets a table of its own.
      scratch_table<int, int> inner;
      CHECK(&*inner != first);
      CHECK((*inner).empty());
    }
    CHECK((*outer).size() == 1);
  }
  scratch_table<int, int> again;
  CHECK(&*again == first);
  CHECK((*again).empty());
  CHECK((*again).capacity() > 0);
}

TEST_CASE("hash_table hands its entries over and stays usable", "[detail]") {
  hash_table<std::string, int> t;
  for (int i = 0; i < 100; ++i) {
    auto key = std::to_string(i % 10);
    t.upsert(key, string_hash(key), [] { return 1; }, [](int& n) { ++n; });
  }
  auto xs = t.take_entries();
  REQUIRE(xs.size() == 10);
  CHECK(xs[3] == std::make_pair(std::string{"3"}, 10));
  CHECK(t.empty());
  for (int i = 0; i < 10; ++i) {
    auto key = std::to_string(i);
    CHECK(t.find(key, string_hash(key)) == nullptr);
  }
  t.upsert(std::string{"3"}, string_hash("3"), [] { return 7; }, [](int&) {});
  CHECK(*t.find("3", string_hash("3")) == 7);
}

TEST_CASE("erasable_table removes keys and compacts", "[detail]") {
  using caf_stream::detail::erasable_table;
  // Against std::map as the model: set, erase and retain at random.
  erasable_table<int, int> t;
  std::map<int, int> model;
  uint64_t seed = 7;
  for (int step = 0; step < 20000; ++step) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    auto key = static_cast<int>((seed >> 33) % 500);
    auto h = std::hash<int>{}(key);
    switch ((seed >> 20) % 3) {
      case 0:
        t.set(key, h, step);
        model[key] = step;
        break;
      case 1:
        t.erase(key, h);
        model.erase(key);
        break;
      default:
        if (auto* x = t.find(key, h))
          CHECK(*x == model.at(key));
        else
          CHECK(model.count(key) == 0);
    }
    if (step % 5000 == 4999) {
      t.retain([](int k, int) { return k % 2 == 0; });
      for (auto i = model.begin(); i != model.end();)
        i = i->first % 2 == 0 ? std::next(i) : model.erase(i);
    }
  }
  std::map<int, int> seen;
  t.for_each([&](int k, int v) { seen.emplace(k, v); });
  CHECK(seen == model);
  CHECK(t.size() == model.size());
}

TEST_CASE("undo_log puts an erasable_table back as it was", "[detail]") {
  using caf_stream::detail::erasable_table;
  using caf_stream::detail::undo_log;
  erasable_table<int, int> t;
  std::map<int, int> before;
  for (int key = 0; key < 300; key += 2) {
    t.set(key, std::hash<int>{}(key), key);
    before[key] = key;
  }
  // Sets, overwrites and erases at random (compacting the table on the
  // way), each noted in the log as the state streams note them, then takes
  // them all back. The keys live in `keys`, as in a batch.
  std::vector<int> keys;
  keys.reserve(5000);
  undo_log<int, int> log;
  uint64_t seed = 11;
  for (int step = 0; step < 5000; ++step) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    keys.push_back(static_cast<int>((seed >> 33) % 400));
    const auto& key = keys.back();
    auto h = std::hash<int>{}(key);
    auto* x = t.find(key, h);
    if ((seed >> 20) % 3 == 0) {
      if (x != nullptr) {
        log.changed(key, std::move(*x));
        t.erase(key, h);
      }
    } else {
      if (x != nullptr)
        log.changed(key, std::move(*x));
      else
        log.added(key);
      t.set(key, h, -step);
    }
  }
  REQUIRE(t.size() != before.size());
  log.roll_back(t);
  std::map<int, int> after;
  t.for_each([&](int k, int v) { after.emplace(k, v); });
  CHECK(after == before);
  CHECK(t.size() == before.size());
}
