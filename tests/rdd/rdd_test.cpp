#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
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

TEST_CASE("rdd reduce fold first take_ordered top", "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  std::vector<int> xs{14, 3, 9, 20, 1, 17, 6, 11, 2, 8, 19, 5};
  auto x = parallelize(xs, static_cast<size_t>(n));
  auto plus = [](int a, int b) { return a + b; };
  CHECK(x.reduce(plus) == 115);
  CHECK(x.reduce([](int a, int b) { return std::max(a, b); }) == 20);
  CHECK(x.fold(0, plus) == 115);
  CHECK(x.first() == 14);
  CHECK(x.take_ordered(4) == std::vector<int>{1, 2, 3, 5});
  CHECK(x.top(3) == std::vector<int>{20, 19, 17});
  // With an ordering of the caller's: by the last digit, then the number.
  auto by_digit = [](int a, int b) {
    return std::make_pair(a % 10, a) < std::make_pair(b % 10, b);
  };
  CHECK(x.take_ordered(3, by_digit) == std::vector<int>{20, 1, 11});
  CHECK(x.top(2, by_digit) == std::vector<int>{19, 9});
  CHECK(x.take_ordered(100).size() == xs.size());
  CHECK(x.top(0).empty());
  auto empty = parallelize(std::vector<int>{}, static_cast<size_t>(n));
  CHECK_THROWS_WITH(empty.reduce(plus), "reduce: empty collection");
  CHECK_THROWS_WITH(empty.first(), "first: empty collection");
  CHECK(empty.fold(7, plus) == 7 * (n + 1));
  CHECK(empty.top(3).empty());
}

TEST_CASE("rdd distinct keys values count_by_key", "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  std::vector<std::pair<std::string, int>> xs;
  for (int i = 0; i < 30; ++i)
    xs.emplace_back(std::string(1, static_cast<char>('a' + i * i % 7)), i % 4);
  std::map<std::string, int64_t> counts;
  std::set<std::string> keys;
  std::vector<int> values;
  for (auto& [k, v] : xs) {
    ++counts[k];
    keys.insert(k);
    values.push_back(v);
  }
  auto x = parallelize(xs, 3);
  auto by_key = x.count_by_key();
  CHECK(std::map<std::string, int64_t>(by_key.begin(), by_key.end())
        == counts);
  CHECK(x.values().collect() == values);
  auto distinct_keys = x.keys().distinct(static_cast<size_t>(n));
  CHECK(distinct_keys.partitions() == static_cast<size_t>(n));
  auto ks = distinct_keys.collect();
  CHECK(std::set<std::string>(ks.begin(), ks.end()) == keys);
  CHECK(ks.size() == keys.size());
  auto vs = x.values().distinct().collect();
  std::sort(vs.begin(), vs.end());
  CHECK(vs == std::vector<int>{0, 1, 2, 3});
}

// Spark's joins are flat maps of `cogroup`: for each key, each left value
// with each right one, the left values outer (`for (v <- vs; w <- ws)`),
// also in `rightOuterJoin`. In one partition the keys come in the order
// they first appear, the left side's first.
TEST_CASE("rdd joins pair a key's values as Spark's do", "[rdd][pair]") {
  using ints = std::vector<std::pair<std::string, int>>;
  using strings = std::vector<std::pair<std::string, std::string>>;
  auto left = parallelize(ints{{"a", 1}, {"a", 2}, {"b", 3}}, 1);
  auto right = parallelize(strings{{"a", "x"}, {"a", "y"}, {"c", "z"}}, 1);
  using inner = std::pair<std::string, std::pair<int, std::string>>;
  CHECK(left.join(right, 1).collect()
        == std::vector<inner>{{"a", {1, "x"}},
                              {"a", {1, "y"}},
                              {"a", {2, "x"}},
                              {"a", {2, "y"}}});
  using left_outer
    = std::pair<std::string, std::pair<int, std::optional<std::string>>>;
  CHECK(left.left_outer_join(right, 1).collect()
        == std::vector<left_outer>{{"a", {1, "x"}},
                                   {"a", {1, "y"}},
                                   {"a", {2, "x"}},
                                   {"a", {2, "y"}},
                                   {"b", {3, std::nullopt}}});
  using right_outer
    = std::pair<std::string, std::pair<std::optional<int>, std::string>>;
  CHECK(left.right_outer_join(right, 1).collect()
        == std::vector<right_outer>{{"a", {1, "x"}},
                                    {"a", {1, "y"}},
                                    {"a", {2, "x"}},
                                    {"a", {2, "y"}},
                                    {"c", {std::nullopt, "z"}}});
  using full_outer
    = std::pair<std::string,
                std::pair<std::optional<int>, std::optional<std::string>>>;
  CHECK(left.full_outer_join(right, 1).collect()
        == std::vector<full_outer>{{"a", {1, "x"}},
                                   {"a", {1, "y"}},
                                   {"a", {2, "x"}},
                                   {"a", {2, "y"}},
                                   {"b", {3, std::nullopt}},
                                   {"c", {std::nullopt, "z"}}});
  // A value type that is itself optional is no outer join's.
  using maybe = std::vector<std::pair<std::string, std::optional<int>>>;
  auto maybes = parallelize(maybe{{"a", 1}, {"b", std::nullopt}}, 1);
  using inner_maybe
    = std::pair<std::string, std::pair<std::optional<int>, std::string>>;
  CHECK(maybes.join(right, 1).collect()
        == std::vector<inner_maybe>{{"a", {1, "x"}}, {"a", {1, "y"}}});
}

TEST_CASE("rdd sort_by_key sorts in ranges of keys, equal keys in order",
          "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  auto ascending = GENERATE(true, false);
  CAPTURE(n, ascending);
  std::vector<std::pair<int, int>> xs;
  for (int i = 0; i < 200; ++i)
    xs.emplace_back(i * 37 % 50, i);
  auto expected = xs;
  std::stable_sort(expected.begin(), expected.end(),
                   [&](const auto& a, const auto& b) {
                     return ascending ? a.first < b.first : b.first < a.first;
                   });
  auto sorted = parallelize(xs, 3).sort_by_key(ascending,
                                                static_cast<size_t>(n));
  REQUIRE(sorted.partitions() == static_cast<size_t>(n));
  CHECK(sorted.collect() == expected);
  // Each key lies in one partition, and the partitions are about even.
  auto parts = sorted.glom().collect();
  std::map<int, size_t> partition_of;
  for (size_t i = 0; i < parts.size(); ++i) {
    CHECK(parts[i].size() <= 2 * xs.size() / parts.size());
    for (auto& kv : parts[i]) {
      auto [j, added] = partition_of.emplace(kv.first, i);
      CHECK(j->second == i);
    }
  }
  // Spark's default: as many partitions as the parent.
  CHECK(parallelize(xs, 3).sort_by_key().partitions() == 3);
}

TEST_CASE("rdd sort_by orders by a key function", "[rdd]") {
  auto n = GENERATE(1, 2, 3, 7);
  std::vector<std::string> words{"pear", "fig", "banana", "kiwi", "apple",
                                 "plum", "cherry", "date", "lime"};
  auto x = parallelize(words, 2);
  auto by_length = x.sort_by([](const std::string& w) { return w.size(); },
                             true, static_cast<size_t>(n));
  CHECK(by_length.collect()
        == std::vector<std::string>{"fig", "pear", "kiwi", "plum", "date",
                                    "lime", "apple", "banana", "cherry"});
  auto reversed = x.sort_by([](const std::string& w) { return w; }, false,
                            static_cast<size_t>(n));
  auto expected = words;
  std::sort(expected.rbegin(), expected.rend());
  CHECK(reversed.collect() == expected);
  CHECK(parallelize(std::vector<std::string>{}, 2)
          .sort_by([](const std::string& w) { return w; })
          .collect()
          .empty());
}

TEST_CASE("rdd cache computes its lineage once, until unpersist", "[rdd]") {
  auto n = GENERATE(1, 3);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto x = parallelize(std::vector<int>{1, 2, 3, 4, 5, 6}, static_cast<size_t>(n))
             .map([calls](int v) {
               ++*calls;
               return std::make_pair(v % 2, v);
             });
  auto sums = x.reduce_by_key([](int a, int b) { return a + b; });
  auto plain = x.map([](const std::pair<int, int>& kv) { return kv.second; });
  CHECK(plain.count() == 6);
  CHECK(plain.collect().size() == 6);
  CHECK(*calls == 12);
  *calls = 0;
  auto cached = x.cache();
  CHECK(cached.cache().node() == cached.node());
  CHECK(cached.count() == 6);
  CHECK(cached.collect()
        == std::vector<std::pair<int, int>>{{1, 1}, {0, 2}, {1, 3},
                                            {0, 4}, {1, 5}, {0, 6}});
  auto cached_sums = cached.reduce_by_key([](int a, int b) { return a + b; })
                       .collect();
  std::sort(cached_sums.begin(), cached_sums.end());
  CHECK(cached_sums == std::vector<std::pair<int, int>>{{0, 12}, {1, 9}});
  CHECK(*calls == 6);
  // After a shuffle: the reduce side's records are kept too.
  auto reduced = sums.map([calls](const std::pair<int, int>& kv) {
    ++*calls;
    return kv;
  });
  *calls = 0;
  auto kept = reduced.persist();
  CHECK(kept.count() == 2);
  CHECK(kept.count() == 2);
  // The map side once (6), the reduce side's two records once.
  CHECK(*calls == 8);
  // Unpersisted, the next action computes the reduce side again from the
  // shuffle's map output, which stays (as Spark's shuffle files), and
  // keeps it again; an RDD that was never cached stays as it is.
  *calls = 0;
  CHECK(kept.unpersist().node() == kept.node());
  CHECK(kept.count() == 2);
  CHECK(*calls == 2);
  CHECK(kept.count() == 2);
  CHECK(*calls == 2);
  CHECK(plain.unpersist().count() == 6);
}

TEST_CASE("a partition's bytes are its records, held or computed",
          "[rdd][serialization]") {
  using lines = std::vector<std::string>;
  // Spark's slices of 3 records in 2 partitions: [0, 1) and [1, 3).
  auto held = parallelize(lines{"a", "bb", "ccc"}, 2);
  auto computed = held.map([](const std::string& x) { return x + "!"; });
  // The collection hands out its records; the map has none to hand out.
  REQUIRE(held.node()->held_records(1) != nullptr);
  CHECK(*held.node()->held_records(1) == lines{"bb", "ccc"});
  CHECK(computed.node()->held_records(1) == nullptr);
  // Both kinds of partition read back as the records, in order.
  auto records_of = [](const std::string& bytes) {
    lines result;
    detail::from_bytes(bytes, result);
    return result;
  };
  CHECK(records_of(held.node()->partition_bytes(0)) == lines{"a"});
  CHECK(records_of(held.node()->partition_bytes(1)) == lines{"bb", "ccc"});
  CHECK(records_of(computed.node()->partition_bytes(1))
        == lines{"bb!", "ccc!"});
}
