#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/hash.hpp"

using caf_stream::detail::hash_table;

namespace {

// A hash that sends every key to one of four values: long probe chains.
size_t clash(const std::string& key) {
  return std::hash<std::string>{}(key) % 4;
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
