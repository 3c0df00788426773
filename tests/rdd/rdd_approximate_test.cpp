#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/bounded_doubles.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

// The estimates expected where the timeout left partitions out are Spark's
// formulas worked by hand: with 2 of 4 partitions, p = 0.5; a count of n
// seen is bounded by the least k whose negative binomial (n successes of
// probability 0.5) distribution function reaches 0.025 and 0.975, summed
// term by term, plus n; Student's t at 0.975 with 19 degrees of freedom is
// 2.093024054408263.

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

using namespace std::chrono_literals;

// An RDD of `xs` in `n` partitions, whose actions' timeouts pass on `clk`;
// with no task runner installed its tasks run one after the other, in
// partition order.
template <class T>
rdd<T> on_clock(std::vector<T> xs, size_t n,
                const std::shared_ptr<testing::manual_clock>& clk) {
  auto ctx = std::make_shared<rdd_context>();
  ctx->set_clock(clk);
  return parallelize(std::move(xs), n).with_context(ctx);
}

// `x`, whose partition 1 moves `clk` on by `d` once it computed: tasks
// that start after that start `d` later.
template <class T>
rdd<T> late_after_partition_1(const rdd<T>& x,
                              std::shared_ptr<testing::manual_clock> clk,
                              duration d) {
  return x.map_partitions_with_index(
    [clk, d](size_t index, const std::vector<T>& part) {
      if (index == 1)
        clk->advance(d);
      return part;
    });
}

std::vector<int> one_to(int n) {
  std::vector<int> result(static_cast<size_t>(n));
  std::iota(result.begin(), result.end(), 1);
  return result;
}

// `count_approx(1000ms)` of 1 to 40 in 4 partitions, whose timeout passes
// after partition 1: 20 records seen in 2 of 4 partitions.
partial_result<bounded_double> count_of_half_in_time() {
  auto clk = std::make_shared<testing::manual_clock>();
  auto x = late_after_partition_1(on_clock(one_to(40), 4, clk), clk, 1s);
  return x.count_approx(1000ms);
}

} // namespace

TEST_CASE("count_approx within its timeout is exact and final",
          "[rdd][approximate]") {
  auto clk = std::make_shared<testing::manual_clock>();
  auto x = on_clock(one_to(40), 4, clk);
  auto r = x.count_approx(1000ms);
  CHECK(r.is_initial_value_final());
  CHECK(r.initial_value() == bounded_double{40, 1, 40, 40});
  CHECK(r.get_final_value() == bounded_double{40, 1, 40, 40});
}

TEST_CASE("count_approx leaves the partitions that start after its timeout "
          "to the final value",
          "[rdd][approximate]") {
  auto r = count_of_half_in_time();
  CHECK_FALSE(r.is_initial_value_final());
  CHECK(r.initial_value() == bounded_double{40, 0.95, 29, 54});
  CHECK(r.get_final_value() == bounded_double{40, 1, 40, 40});
  CHECK(r.get_final_value() == bounded_double{40, 1, 40, 40});
  // A timeout of 0 passed before the first task.
  auto clk = std::make_shared<testing::manual_clock>();
  auto none = on_clock(one_to(40), 4, clk).count_approx(0ms);
  CHECK(none.initial_value() == bounded_double{0, 0, 0, inf});
  CHECK(none.get_final_value() == bounded_double{40, 1, 40, 40});
}

// Spark's PartialResult.map: the mapped result's values are the function's
// of the original's, and both share one computation of the final value.
TEST_CASE("a partial result's map applies to the initial value now and to "
          "the final value when asked for",
          "[rdd][approximate]") {
  auto r = count_of_half_in_time();
  auto lows = r.map([](const bounded_double& b) { return b.low; });
  CHECK_FALSE(lows.is_initial_value_final());
  CHECK(lows.initial_value() == 29.0);
  CHECK(lows.get_final_value() == 40.0);
  CHECK(r.get_final_value() == bounded_double{40, 1, 40, 40});
  int finished = 0;
  partial_result<int> counted{3, [&] { return ++finished * 10; }};
  auto doubled = counted.map([](int v) { return std::to_string(v * 2); });
  CHECK(doubled.initial_value() == "6");
  CHECK(finished == 0);
  CHECK(doubled.get_final_value() == "20");
  CHECK(counted.get_final_value() == 10);
  CHECK(doubled.get_final_value() == "20");
  CHECK(finished == 1);
  auto final = partial_result<int>{7}.map([](int v) { return v + 1; });
  CHECK(final.is_initial_value_final());
  CHECK(final.get_final_value() == 8);
}

TEST_CASE("count_by_value_approx and count_by_key_approx bound each value",
          "[rdd][approximate]") {
  auto clk = std::make_shared<testing::manual_clock>();
  std::vector<std::string> words{"a", "a", "a", "b", "a", "b", "c", "c"};
  auto x = late_after_partition_1(on_clock(words, 4, clk), clk, 1s);
  auto r = x.count_by_value_approx(1000ms);
  // "a" 3 times and "b" once in the first two partitions.
  CHECK(r.initial_value().size() == 2);
  CHECK(r.initial_value().at("a") == bounded_double{6, 0.95, 3, 12});
  CHECK(r.initial_value().at("b") == bounded_double{2, 0.95, 1, 6});
  auto all = r.get_final_value();
  CHECK(all.size() == 3);
  CHECK(all.at("a") == bounded_double{4, 1, 4, 4});
  CHECK(all.at("b") == bounded_double{2, 1, 2, 2});
  CHECK(all.at("c") == bounded_double{2, 1, 2, 2});
  auto pairs = x.map([](const std::string& w) { return std::make_pair(w, 1); });
  auto by_key = pairs.count_by_key_approx(1000ms, 0.95);
  CHECK(by_key.initial_value().at("a") == bounded_double{6, 0.95, 3, 12});
  CHECK(by_key.get_final_value().at("c") == bounded_double{2, 1, 2, 2});
}

TEST_CASE("sum_approx and mean_approx", "[rdd][approximate]") {
  auto clk = std::make_shared<testing::manual_clock>();
  auto x = late_after_partition_1(on_clock(one_to(40), 4, clk), clk, 1s);
  // 1..20 seen: 20 numbers, mean 10.5, sample variance 35.
  auto sum = x.sum_approx(1000ms);
  CHECK_FALSE(sum.is_initial_value_final());
  support::check_near(sum.initial_value(),
                      bounded_double{430.5, 0.95, 247.4860197685861,
                                     613.5139802314139});
  support::check_near(sum.get_final_value(),
                      bounded_double{820, 1, 820, 820});
  auto mean = x.mean_approx(1000ms);
  support::check_near(mean.initial_value(),
                      bounded_double{10.5, 0.95, 7.731189431979806,
                                     13.268810568020193});
  support::check_near(mean.get_final_value(),
                      bounded_double{20.5, 1, 20.5, 20.5});
}

TEST_CASE("the approximate actions refuse a confidence outside [0, 1]",
          "[rdd][approximate]") {
  auto x = parallelize(one_to(4), 2);
  CHECK_THROWS_WITH(x.count_approx(1s, 1.5),
                    "count_approx: confidence (1.500000) must be in [0,1]");
  CHECK_THROWS_AS(x.count_by_value_approx(1s, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(x.sum_approx(1s, 2), std::invalid_argument);
  CHECK_THROWS_AS(x.mean_approx(1s, std::nan("")), std::invalid_argument);
  // Without a context the timeout passes on the steady clock.
  CHECK(x.count_approx(0ms).initial_value() == bounded_double{0, 0, 0, inf});
  CHECK(x.count_approx(0ms).get_final_value() == bounded_double{4, 1, 4, 4});
}

TEST_CASE("count_approx in an output runs on the streaming context's clock",
          "[rdd][approximate]") {
  // The manual clock stands still while the batch runs: 1 ms never passes.
  test::pipeline<int> p;
  auto& ssc = p.context();
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(ssc.parallelize(one_to(40), 4));
  std::vector<bounded_double> seen;
  ssc.queue_stream(q).foreach_rdd([&seen](const rdd<int>& x) {
    auto r = x.count_approx(1ms);
    seen.push_back(r.initial_value());
    seen.push_back(r.get_final_value());
  });
  p.run(1);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == bounded_double{40, 1, 40, 40});
  CHECK(seen[1] == bounded_double{40, 1, 40, 40});
}
