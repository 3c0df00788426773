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
    // Another thread (a task, a thread of the user's) runs inline.
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
