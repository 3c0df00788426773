#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/tables.hpp"

using namespace caf_stream;
using testing::run_operation;

using support::parallelism;
using support::sorted;

namespace {

using strings = std::vector<std::vector<std::string>>;
using ints = std::vector<std::vector<int>>;

} // namespace

// Cases from Spark's BasicOperationsSuite, with literal expected tables.

TEST_CASE("map", "[dstream][basic]") {
  auto workers = GENERATE(1, 2, 4);
  auto parts = GENERATE(1, 2, 3);
  ints input{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
  auto out = run_operation(
    input, [](dstream<int> s) { return s.map([](int x) { return std::to_string(x); }); },
    3, std::chrono::seconds(1), parallelism(workers, parts));
  CHECK(out == strings{{"1", "2", "3", "4"}, {"5", "6", "7", "8"},
                       {"9", "10", "11", "12"}});
}

TEST_CASE("flat_map and filter", "[dstream][basic]") {
  auto parts = GENERATE(1, 2, 3);
  ints input{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
  auto out = run_operation(
    input,
    [](dstream<int> s) {
      return s.flat_map([](int x) { return std::vector<int>{x, x * 2}; })
        .filter([](int x) { return x % 2 == 0; });
    },
    3, std::chrono::seconds(1), parallelism(2, parts));
  CHECK(sorted(out) == ints{{2, 2, 4, 4, 6, 8}, {6, 8, 10, 12, 14, 16},
                            {10, 12, 18, 20, 22, 24}});
}

TEST_CASE("glom and map_partitions", "[dstream][basic]") {
  ints input{{1, 2, 3, 4}, {5, 6, 7, 8}};
  auto glommed = run_operation(
    input, [](dstream<int> s) { return s.glom(); }, 2, std::chrono::seconds(1),
    parallelism(2, 2));
  CHECK(glommed == std::vector<std::vector<std::vector<int>>>{
                     {{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}});
  auto sums = run_operation(
    input,
    [](dstream<int> s) {
      return s.map_partitions([](const std::vector<int>& xs) {
        int sum = 0;
        for (auto x : xs)
          sum += x;
        return std::vector<int>{sum};
      });
    },
    2, std::chrono::seconds(1), parallelism(2, 2));
  CHECK(sums == ints{{3, 7}, {11, 15}});
}

TEST_CASE("repartition keeps every element", "[dstream][basic]") {
  auto n = GENERATE(1, 3, 5);
  ints input{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {}};
  auto out = run_operation(
    input,
    [n](dstream<int> s) {
      return s.repartition(n).glom().map(
        [](const std::vector<int>& p) { return static_cast<int>(p.size()); });
    },
    2, std::chrono::seconds(1), parallelism(2, 2));
  REQUIRE(out.size() == 2);
  CHECK(out[0].size() == static_cast<size_t>(n));
  int total = 0;
  for (auto c : out[0]) {
    total += c;
    CHECK(c >= 10 / n);
    CHECK(c <= 10 / n + 1);
  }
  CHECK(total == 10);
  CHECK(out[1] == std::vector<int>(static_cast<size_t>(n), 0));
}

TEST_CASE("count, reduce and count_by_value", "[dstream][basic]") {
  auto parts = GENERATE(1, 2, 3);
  auto opts = parallelism(2, parts);
  ints input{{1}, {2, 3}, {}, {4, 5, 6}};
  auto counts = run_operation(
    input, [](dstream<int> s) { return s.count(); }, 4,
    std::chrono::seconds(1), opts);
  CHECK(counts == std::vector<std::vector<int64_t>>{{1}, {2}, {0}, {3}});
  auto sums = run_operation(
    input, [](dstream<int> s) { return s.reduce([](int a, int b) { return a + b; }); },
    4, std::chrono::seconds(1), opts);
  CHECK(sums == ints{{1}, {5}, {}, {15}});
  strings words{{"a", "a", "b"}, {"", ""}, {}};
  auto by_value = run_operation(
    words, [](dstream<std::string> s) { return s.count_by_value(); }, 3,
    std::chrono::seconds(1), opts);
  using kv = std::pair<std::string, int64_t>;
  CHECK(sorted(by_value)
        == std::vector<std::vector<kv>>{{{"a", 2}, {"b", 1}}, {{"", 2}}, {}});
}

TEST_CASE("reduce_by_key, group_by_key, combine_by_key", "[dstream][pair]") {
  auto workers = GENERATE(1, 2, 3);
  auto parts = GENERATE(1, 2, 5);
  auto opts = parallelism(workers, parts);
  using kv = std::pair<std::string, int>;
  std::vector<std::vector<kv>> input{
    {{"a", 1}, {"a", 1}, {"b", 1}}, {{"", 1}, {"", 1}}, {}};
  auto reduced = run_operation(
    input,
    [](dstream<kv> s) { return s.reduce_by_key([](int a, int b) { return a + b; }); },
    3, std::chrono::seconds(1), opts);
  CHECK(sorted(reduced)
        == std::vector<std::vector<kv>>{{{"a", 2}, {"b", 1}}, {{"", 2}}, {}});
  auto grouped = run_operation(
    input, [](dstream<kv> s) { return s.group_by_key(); }, 3,
    std::chrono::seconds(1), opts);
  using kvs = std::pair<std::string, std::vector<int>>;
  CHECK(sorted(grouped)
        == std::vector<std::vector<kvs>>{{{"a", {1, 1}}, {"b", {1}}},
                                         {{"", {1, 1}}}, {}});
  auto combined = run_operation(
    input,
    [](dstream<kv> s) {
      return s.combine_by_key([](int v) { return std::to_string(v); },
                              [](std::string c, int v) { return c + std::to_string(v); },
                              [](std::string a, std::string b) { return a + b; });
    },
    3, std::chrono::seconds(1), opts);
  using kstr = std::pair<std::string, std::string>;
  CHECK(sorted(combined)
        == std::vector<std::vector<kstr>>{{{"a", "11"}, {"b", "1"}},
                                          {{"", "11"}}, {}});
}

TEST_CASE("a by-key operation that names no partition count takes the "
          "default parallelism as each batch runs, on a worker node its "
          "driver's",
          "[dstream][pair]") {
  // The partitions of each batch's reduce_by_key, without and with a count.
  using kv = std::pair<int, int>;
  test::pipeline<size_t> p{parallelism(2, 3)};
  auto& ssc = p.context();
  auto queue = std::make_shared<rdd_queue<int>>();
  auto pairs = ssc.queue_stream(queue).map([](int x) { return kv{x % 4, 1}; });
  auto sum = [](int a, int b) { return a + b; };
  auto partitions = [](const rdd<kv>& x) { return x.partitions(); };
  p.collect(pairs.reduce_by_key(sum).transform([=](const rdd<kv>& x) {
    return parallelize(std::vector<size_t>{partitions(x)}, 1);
  }));
  p.collect(pairs.reduce_by_key(sum, 4).transform([=](const rdd<kv>& x) {
    return parallelize(std::vector<size_t>{10 + partitions(x)}, 1);
  }));
  ssc.start();
  queue->push(parallelize(std::vector<int>{1, 2, 3, 4, 5}, 2));
  p.next_batch();
  // A node whose driver has a default parallelism of 5.
  pairs.graph()->use_driver_parallelism(5);
  queue->push(parallelize(std::vector<int>{6, 7}, 2));
  p.next_batch();
  // A stage without one (0) keeps it.
  pairs.graph()->use_driver_parallelism(0);
  queue->push(parallelize(std::vector<int>{8}, 1));
  p.next_batch();
  ssc.stop();
  auto seen = p.elements();
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<size_t>{3, 5, 5, 14, 14, 14});
}

TEST_CASE("map_values and flat_map_values", "[dstream][pair]") {
  using kv = std::pair<std::string, int>;
  std::vector<std::vector<kv>> input{{{"a", 1}, {"b", 2}}, {{"a", 3}}};
  auto out = run_operation(
    input,
    [](dstream<kv> s) {
      return s.map_values([](int v) { return v * 10; })
        .flat_map_values([](int v) { return std::vector<int>{v, v + 1}; });
    },
    2);
  CHECK(sorted(out)
        == std::vector<std::vector<kv>>{
          {{"a", 10}, {"a", 11}, {"b", 20}, {"b", 21}}, {{"a", 30}, {"a", 31}}});
}

TEST_CASE("union_with, transform, transform_with", "[dstream][basic]") {
  ints input1{{1, 2}, {3}};
  ints input2{{10}, {20, 30}};
  auto unioned = run_operation(
    input1, input2, [](dstream<int> a, dstream<int> b) { return a.union_with(b); },
    2);
  CHECK(sorted(unioned) == ints{{1, 2, 10}, {3, 20, 30}});
  auto transformed = run_operation(
    input1,
    [](dstream<int> s) {
      return s.transform([](const rdd<int>& r, caf_stream::time t) {
        auto ms = static_cast<int>(t.milliseconds());
        return r.map([ms](int x) { return x + ms; });
      });
    },
    2);
  CHECK(sorted(transformed) == ints{{1001, 1002}, {2003}});
  auto with = run_operation(
    input1, input2,
    [](dstream<int> a, dstream<int> b) {
      return a.transform_with(b, [](const rdd<int>& x, const rdd<int>& y) {
        return x.union_with(y.map([](int v) { return -v; }));
      });
    },
    2);
  CHECK(sorted(with) == ints{{-10, 1, 2}, {-30, -20, 3}});
}

TEST_CASE("joins and cogroup", "[dstream][pair]") {
  auto parts = GENERATE(1, 2, 4);
  auto opts = parallelism(2, parts);
  using kv = std::pair<std::string, int>;
  using ks = std::pair<std::string, std::string>;
  std::vector<std::vector<kv>> left{{{"a", 1}, {"b", 2}}, {{"a", 3}}, {}};
  std::vector<std::vector<ks>> right{{{"a", "x"}, {"c", "y"}}, {}, {{"d", "z"}}};
  auto one = std::chrono::seconds(1);
  auto inner = run_operation(
    left, right, [](dstream<kv> a, dstream<ks> b) { return a.join(b); }, 3, one,
    opts);
  using j = std::pair<std::string, std::pair<int, std::string>>;
  CHECK(sorted(inner) == std::vector<std::vector<j>>{{{"a", {1, "x"}}}, {}, {}});
  auto left_outer = run_operation(
    left, right, [](dstream<kv> a, dstream<ks> b) { return a.left_outer_join(b); },
    3, one, opts);
  using lj = std::pair<std::string, std::pair<int, std::optional<std::string>>>;
  CHECK(sorted(left_outer)
        == std::vector<std::vector<lj>>{
          {{"a", {1, "x"}}, {"b", {2, std::nullopt}}}, {{"a", {3, std::nullopt}}}, {}});
  auto right_outer = run_operation(
    left, right, [](dstream<kv> a, dstream<ks> b) { return a.right_outer_join(b); },
    3, one, opts);
  using rj = std::pair<std::string, std::pair<std::optional<int>, std::string>>;
  CHECK(sorted(right_outer)
        == std::vector<std::vector<rj>>{
          {{"a", {1, "x"}}, {"c", {std::nullopt, "y"}}}, {}, {{"d", {std::nullopt, "z"}}}});
  auto full_outer = run_operation(
    left, right, [](dstream<kv> a, dstream<ks> b) { return a.full_outer_join(b); },
    3, one, opts);
  using fj = std::pair<std::string,
                       std::pair<std::optional<int>, std::optional<std::string>>>;
  CHECK(sorted(full_outer)
        == std::vector<std::vector<fj>>{
          {{"a", {1, "x"}}, {"b", {2, std::nullopt}}, {"c", {std::nullopt, "y"}}},
          {{"a", {3, std::nullopt}}},
          {{"d", {std::nullopt, "z"}}}});
  auto cogrouped = run_operation(
    left, right, [](dstream<kv> a, dstream<ks> b) { return a.cogroup(b); }, 3, one,
    opts);
  using cg = std::pair<std::string,
                       std::pair<std::vector<int>, std::vector<std::string>>>;
  CHECK(sorted(cogrouped)
        == std::vector<std::vector<cg>>{
          {{"a", {{1}, {"x"}}}, {"b", {{2}, {}}}, {"c", {{}, {"y"}}}},
          {{"a", {{3}, {}}}},
          {{"d", {{}, {"z"}}}}});
}

TEST_CASE("a persisted stream is computed once per batch for all its uses",
          "[dstream][basic]") {
  auto persist = GENERATE(true, false);
  CAPTURE(persist);
  test::pipeline<int> p;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(std::vector<int>{1, 2, 3, 4, 5}, 2));
  q->push(parallelize(std::vector<int>{6, 7}, 2));
  auto squares = p.context().queue_stream(q).map([calls](int x) {
    ++*calls;
    return x * x;
  });
  if (persist)
    CHECK(&squares.persist() == &squares);
  auto counts = std::make_shared<std::vector<int64_t>>();
  squares.foreach_rdd([counts](const rdd<int>& x) {
    counts->push_back(x.count());
  });
  p.collect(squares.map([](int x) { return x + 1; }));
  p.context().start();
  p.next_batch();
  p.next_batch();
  CHECK_THROWS_WITH(squares.cache(),
                    Catch::Contains("Cannot change storage level of a "
                                    "DStream after streaming context has "
                                    "started"));
  p.context().stop();
  CHECK(p.outputs() == ints{{2, 5, 10, 17, 26}, {37, 50}});
  CHECK(*counts == std::vector<int64_t>{5, 2});
  // Two outputs use the stream: without persist each computes it.
  CHECK(*calls == (persist ? 7 : 14));
}

namespace {

using slices = std::vector<std::vector<std::vector<int>>>;

// Batch k (1 s each) gets {k}; every batch, a job slices the doubled stream
// from 2.5 s before its time to its time (the start goes down to the
// grid), after `prepare(ssc)`. Returns what each batch's slice held.
template <class Prepare>
slices slice_each_batch(size_t batches, Prepare prepare) {
  test::pipeline<int> p;
  auto& ssc = p.context();
  auto queue = std::make_shared<rdd_queue<int>>();
  for (int k = 1; k <= static_cast<int>(batches); ++k)
    queue->push(ssc.parallelize(std::vector<int>{k}, 1));
  auto doubled = ssc.queue_stream(queue).map([](int x) { return 2 * x; });
  auto seen = std::make_shared<slices>();
  doubled.foreach_rdd([doubled, seen](const rdd<int>&, caf_stream::time t) {
    std::vector<std::vector<int>> xs;
    for (const auto& x : doubled.slice(t - std::chrono::milliseconds(2500), t))
      xs.push_back(x.collect());
    seen->push_back(std::move(xs));
  });
  prepare(ssc);
  p.run(batches);
  return *seen;
}

} // namespace

TEST_CASE("slice gives the RDDs a stream still remembers", "[dstream][slice]") {
  // A map keeps its RDDs for one slide: the batch before and this one.
  CHECK(slice_each_batch(4, [](streaming_context&) {})
        == slices{{{2}}, {{2}, {4}}, {{4}, {6}}, {{6}, {8}}});
  // With `remember`, all of them since 3 s before (1.5 s goes down to 1 s).
  CHECK(slice_each_batch(4,
                         [](streaming_context& ssc) {
                           ssc.remember(std::chrono::seconds(10));
                         })
        == slices{{{2}}, {{2}, {4}}, {{2}, {4}, {6}}, {{2}, {4}, {6}, {8}}});
}

TEST_CASE("slice runs inside a job of a started context, remember is set "
          "once, before start",
          "[dstream][slice]") {
  test::pipeline<int> p;
  auto& ssc = p.context();
  auto queue = std::make_shared<rdd_queue<int>>();
  auto in = ssc.queue_stream(queue);
  p.collect(in);
  using caf_stream::time;
  CHECK_THROWS_WITH(in.slice(time{0}, time{1000}),
                    Catch::Contains("has not been initialized"));
  CHECK_THROWS_WITH(ssc.remember(std::chrono::seconds(0)),
                    Catch::Contains("must be positive"));
  ssc.remember(std::chrono::seconds(5));
  CHECK_THROWS_WITH(ssc.remember(std::chrono::seconds(6)),
                    Catch::Contains("already set as 5000 ms"));
  ssc.start();
  p.next_batch();
  CHECK_THROWS_WITH(in.slice(time{0}, time{1000}),
                    Catch::Contains("call it inside a job"));
  CHECK_THROWS_WITH(ssc.remember(std::chrono::seconds(5)),
                    Catch::Contains("after starting a context"));
  ssc.stop();
}
