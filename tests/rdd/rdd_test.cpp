#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "caf_stream/rdd/rdd.hpp"

using namespace caf_stream;

TEST_CASE("rdd map filter flat_map fuse per partition", "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  auto x = parallelize(std::vector<int>{1, 2, 3, 4, 5, 6}, n);
  CHECK(x.partitions() == static_cast<size_t>(n));
  auto y = x.map([](int v) { return v * 10; })
             .filter([](int v) { return v != 30; })
             .flat_map([](int v) { return std::vector<int>{v, v + 1}; });
  CHECK(y.collect() == std::vector<int>{10, 11, 20, 21, 40, 41, 50, 51, 60, 61});
  CHECK(y.count() == 10);
  CHECK(y.take(3) == std::vector<int>{10, 11, 20});
}

TEST_CASE("rdd aggregate folds partitions then combines them", "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  auto x = parallelize(std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, n);
  // Sum of squares, folded per partition, combined with +.
  auto sum = x.aggregate(
    int64_t{0}, [](int64_t acc, int v) { return acc + v * v; },
    [](int64_t a, int64_t b) { return a + b; });
  CHECK(sum == 385);
  // The partitions' results arrive in partition order.
  auto parts = x.aggregate(
    std::vector<int>{}, [](std::vector<int> acc, int v) {
      acc.push_back(v);
      return acc;
    },
    [](std::vector<int> a, std::vector<int> b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    });
  CHECK(parts == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(rdd<int>{}.aggregate(7, [](int a, int) { return a; },
                             [](int a, int b) { return a + b; })
        == 7);
}

TEST_CASE("rdd partition_by puts each key where reduce_by_key puts it",
          "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  std::vector<std::pair<std::string, int>> xs;
  for (int i = 0; i < 40; ++i)
    xs.emplace_back(std::string(1, static_cast<char>('a' + i % 9)), i);
  auto x = parallelize(xs, 3);
  auto parts = x.partition_by(static_cast<size_t>(n)).glom().collect();
  auto sums = x.reduce_by_key([](int a, int b) { return a + b; },
                              static_cast<size_t>(n))
                .glom()
                .collect();
  REQUIRE(parts.size() == static_cast<size_t>(n));
  REQUIRE(sums.size() == parts.size());
  for (size_t p = 0; p < parts.size(); ++p) {
    // Every record of the partition's keys, in the input's order.
    std::vector<std::pair<std::string, int>> expected;
    for (auto& kv : xs)
      if (std::any_of(sums[p].begin(), sums[p].end(),
                      [&](auto& s) { return s.first == kv.first; }))
        expected.push_back(kv);
    CHECK(parts[p] == expected);
  }
}
