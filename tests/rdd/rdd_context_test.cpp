#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/counting_runner.hpp"
#include "support/pipeline.hpp"
#include "support/tables.hpp"

using namespace caf_stream;
using support::counting_runner;
using support::sorted;

namespace {

using counts = std::vector<std::pair<std::string, int64_t>>;

rdd<std::string> words(size_t partitions) {
  return parallelize(std::vector<std::string>{"a", "b", "a", "c", "a", "b"},
                     partitions);
}

counts word_count(const rdd<std::string>& xs) {
  auto ones = xs.map([](const std::string& w) {
    return std::pair<std::string, int64_t>{w, 1};
  });
  auto result
    = ones.reduce_by_key([](int64_t a, int64_t b) { return a + b; }).collect();
  std::sort(result.begin(), result.end());
  return result;
}

const counts expected{{"a", 3}, {"b", 2}, {"c", 1}};

} // namespace

TEST_CASE("an RDD made outside a graph runs its actions inline",
          "[rdd][context]") {
  auto xs = words(3);
  CHECK(xs.context() == nullptr);
  CHECK(&xs.runner() == &task_runner::inline_runner());
  CHECK(word_count(xs) == expected);
}

TEST_CASE("an RDD's actions run on the runner installed in its context, on "
          "the installer's thread only",
          "[rdd][context]") {
  auto context = std::make_shared<rdd_context>();
  auto xs = words(3).with_context(context);
  counting_runner runner;
  {
    scoped_runner installed{*context, runner};
    // The shuffle's map stage (3 tasks), then the result stage (3 reduce
    // partitions).
    CHECK(word_count(xs) == expected);
    CHECK(runner.stages == 2);
    CHECK(runner.tasks == 6);
    // Another thread (a thread of the user's) runs inline.
    counts elsewhere;
    std::thread other{[&] { elsewhere = word_count(xs); }};
    other.join();
    CHECK(elsewhere == expected);
    CHECK(runner.stages == 2);
  }
  // With the runner gone, inline.
  CHECK(&xs.runner() == &task_runner::inline_runner());
  CHECK(word_count(xs) == expected);
  CHECK(runner.stages == 2);
}

TEST_CASE("derived RDDs share the context, a union or join takes either "
          "side's",
          "[rdd][context]") {
  auto context = std::make_shared<rdd_context>();
  auto bound = words(2).with_context(context);
  auto unbound = words(2);
  CHECK(bound.filter([](const std::string&) { return true; }).context()
        == context);
  CHECK(bound.cache().context() == context);
  CHECK(unbound.union_with(bound).context() == context);
  CHECK(bound.union_with(unbound).context() == context);
  auto pairs = [](const rdd<std::string>& x) {
    return x.map([](const std::string& w) { return std::pair{w, 1}; });
  };
  CHECK(pairs(unbound).join(pairs(bound)).context() == context);
  CHECK(unbound.union_with(unbound).context() == nullptr);
}

TEST_CASE("the RDDs a graph generates carry its context, whose runner is the "
          "job executor's while a job runs",
          "[rdd][context]") {
  std::atomic<int> bound{0};
  std::atomic<int> on_executor{0};
  std::vector<std::vector<int>> input{{1, 2}, {3}};
  auto out = testing::run_operation(
    input,
    [&](dstream<int> s) {
      return s.transform([&](const rdd<int>& x) {
        if (x.context() != nullptr)
          ++bound;
        if (&x.runner() != &task_runner::inline_runner())
          ++on_executor;
        return x.map([](int v) { return v * 10; });
      });
    },
    2);
  CHECK(sorted(out) == std::vector<std::vector<int>>{{10, 20}, {30}});
  CHECK(bound == 2);
  CHECK(on_executor == 2);
}

// Spark's SPARK-5063: "RDD transformations and actions are NOT invoked by
// the driver, but inside of other transformations; for example,
// rdd1.map(x => rdd2.values.count() * x) is invalid".
TEST_CASE("an RDD action inside a task is refused, as Spark refuses it",
          "[rdd][context]") {
  const std::string why = "an RDD action ran inside a task (a "
                          "transformation's function, a state stream's or a "
                          "window's, or foreach_partition's)";
  auto inner = words(2);
  auto outer = parallelize(std::vector<int>{1, 2, 3}, 3);
  auto times_inner = [&](int x) {
    return x * static_cast<int>(inner.count());
  };
  SECTION("inline, outside any graph") {
    CHECK_THROWS_WITH(outer.map(times_inner).collect(),
                      Catch::StartsWith(why));
    CHECK_THROWS_WITH(outer.filter([&](int) {
                             return !inner.take(1).empty();
                           }).count(),
                      Catch::StartsWith(why));
    CHECK_THROWS_WITH(outer.foreach_partition(
                        [&](size_t, const std::vector<int>&) {
                          inner.collect();
                        }),
                      Catch::StartsWith(why));
  }
  SECTION("on a runner installed in the RDDs' context") {
    auto context = std::make_shared<rdd_context>();
    counting_runner runner;
    scoped_runner installed{*context, runner};
    inner = inner.with_context(context);
    CHECK_THROWS_WITH(outer.with_context(context).map(times_inner).collect(),
                      Catch::StartsWith(why));
    CHECK(runner.stages == 1);
  }
  // The task that threw ended: this thread runs jobs again, and the action
  // run before the stage is what Spark asks for.
  auto n = static_cast<int>(inner.count());
  CHECK(n == 6);
  CHECK(outer.map([n](int x) { return x * n; }).collect()
        == std::vector<int>{6, 12, 18});
}

TEST_CASE("an RDD action inside a task of a running context fails its batch, "
          "on the operator workers and on the job executor's thread",
          "[rdd][context]") {
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  // 8 partitions: the job executor runs some tasks, the workers others.
  q->push(parallelize(std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}, 8));
  q->push(parallelize(std::vector<int>{1, 2}, 2));
  auto inner = words(2);
  std::vector<int64_t> counted;
  bool first = true;
  p.context().queue_stream(q).foreach_rdd([&](const rdd<int>& x) {
    if (std::exchange(first, false)) {
      x.map([&](int v) { return v * static_cast<int>(inner.count()); })
        .collect();
      return;
    }
    // In the output function, on the driver: allowed.
    auto n = static_cast<int64_t>(inner.count());
    counted.push_back(x.map([n](int v) { return v * n; }).count());
  });
  p.run(2);
  auto infos = p.infos();
  REQUIRE(infos.size() == 2);
  REQUIRE(infos[0].failure_reason);
  CHECK_THAT(*infos[0].failure_reason,
             Catch::Contains("an RDD action ran inside a task"));
  CHECK_FALSE(infos[1].failure_reason);
  CHECK(counted == std::vector<int64_t>{2});
}
