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
