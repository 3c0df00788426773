#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "caf_stream/hash.hpp"
#include "caf_stream/rdd/approximate_evaluator.hpp"

#include "support/bounded_doubles.hpp"

using namespace caf_stream;
using namespace caf_stream::detail;

// The expected intervals are Spark's own test suites' (CountEvaluatorSuite,
// SumEvaluatorSuite, MeanEvaluatorSuite), and quantiles of the negative
// binomial and Poisson distributions summed term by term.

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

stat_counter counter_of(std::initializer_list<double> xs) {
  stat_counter result;
  for (auto x : xs)
    result.merge(x);
  return result;
}

} // namespace

TEST_CASE("count_evaluator with no records has no bound",
          "[rdd][approximate]") {
  count_evaluator e{10, 0.95};
  CHECK(e.current_result() == bounded_double{0, 0, 0, inf});
  e.merge(0);
  CHECK(e.current_result() == bounded_double{0, 0, 0, inf});
}

TEST_CASE("count_evaluator bounds the rest as a negative binomial",
          "[rdd][approximate]") {
  count_evaluator e{10, 0.95};
  e.merge(1);
  CHECK(e.current_result() == bounded_double{10, 0.95, 1, 36});
  e.merge(3);
  CHECK(e.current_result() == bounded_double{20, 0.95, 7, 41});
  e.merge(8);
  CHECK(e.current_result() == bounded_double{40, 0.95, 24, 61});
  for (int k = 4; k <= 10; ++k)
    e.merge(10);
  CHECK(e.current_result() == bounded_double{82, 1, 82, 82});
}

TEST_CASE("count_evaluator bounds more than 10000 records as a Poisson",
          "[rdd][approximate]") {
  // Poisson(20000): the least counts whose distribution function reaches
  // 0.025 and 0.975 are 19723 and 20278.
  CHECK(count_evaluator::bound(0.95, 20000, 0.5)
        == bounded_double{40000, 0.95, 39723, 40278});
  // Confidence 1 has no upper bound, 0 the median at both ends.
  auto whole = count_evaluator::bound(1.0, 20, 0.5);
  CHECK(whole.low == 20);
  CHECK(whole.high == inf);
}

TEST_CASE("count_evaluator of no partitions is final",
          "[rdd][approximate]") {
  CHECK(count_evaluator{0, 0.95}.current_result()
        == bounded_double{0, 1, 0, 0});
}

TEST_CASE("grouped_count_evaluator bounds each key",
          "[rdd][approximate]") {
  using evaluator = grouped_count_evaluator<std::string, hash<std::string>>;
  evaluator e{4, 0.95};
  CHECK(e.current_result().empty());
  e.merge({{"a", 2}});
  e.merge({{"a", 1}, {"b", 1}});
  auto half = e.current_result();
  CHECK(half.size() == 2);
  CHECK(half.at("a") == bounded_double{6, 0.95, 3, 12});
  CHECK(half.at("b") == bounded_double{2, 0.95, 1, 6});
  e.merge({{"a", 1}, {"b", 1}});
  e.merge({{"c", 2}});
  auto whole = e.current_result();
  CHECK(whole.size() == 3);
  CHECK(whole.at("a") == bounded_double{4, 1, 4, 4});
  CHECK(whole.at("b") == bounded_double{2, 1, 2, 2});
  CHECK(whole.at("c") == bounded_double{2, 1, 2, 2});
}

TEST_CASE("sum_evaluator with no numbers has no bound",
          "[rdd][approximate]") {
  sum_evaluator e{10, 0.95};
  CHECK(e.current_result() == bounded_double{0, 0, -inf, inf});
  e.merge(stat_counter{});
  CHECK(e.current_result() == bounded_double{0, 0, -inf, inf});
}

TEST_CASE("sum_evaluator with one number has no bound",
          "[rdd][approximate]") {
  sum_evaluator e{10, 0.95};
  e.merge(counter_of({2.0}));
  support::check_near(e.current_result(),
                      bounded_double{38, 0.95, -inf, inf});
}

TEST_CASE("sum_evaluator with NaN has no bound", "[rdd][approximate]") {
  sum_evaluator e{10, 0.95};
  e.merge(counter_of({1, std::nan(""), 2}));
  auto x = e.current_result();
  CHECK(std::isnan(x.mean));
  CHECK(x.confidence == 0.95);
  CHECK(x.low == -inf);
  CHECK(x.high == inf);
}

TEST_CASE("sum_evaluator bounds with Student's t", "[rdd][approximate]") {
  sum_evaluator e{10, 0.95};
  e.merge(counter_of({1, 3, 2}));
  support::check_near(e.current_result(),
                      bounded_double{78, 0.95,
                                     -117.617 + 2.732357258139473E-5,
                                     273.617 - 2.7323572624027292E-5});
  for (int k = 2; k <= 10; ++k)
    e.merge(counter_of({1}));
  support::check_near(e.current_result(), bounded_double{15, 1, 15, 15});
}

TEST_CASE("mean_evaluator bounds with Student's t", "[rdd][approximate]") {
  mean_evaluator e{10, 0.95};
  CHECK(e.current_result() == bounded_double{0, 0, -inf, inf});
  e.merge(stat_counter{});
  CHECK(e.current_result() == bounded_double{0, 0, -inf, inf});
  e.merge(counter_of({1.0}));
  CHECK(e.current_result() == bounded_double{1, 0.95, -inf, inf});
  e.merge(counter_of({3.0}));
  support::check_near(e.current_result(),
                      bounded_double{2, 0.95, -10.706204736174746,
                                     14.706204736174746});
  e.merge(counter_of({8.0}));
  support::check_near(e.current_result(),
                      bounded_double{4, 0.95, -4.9566858949231225,
                                     12.956685894923123});
  // The empty counter counts as one of the 10 partitions.
  for (int k = 5; k <= 10; ++k)
    e.merge(counter_of({9.0}));
  auto mean = (1.0 + 3 + 8 + 6 * 9) / 9;
  support::check_near(e.current_result(),
                      bounded_double{mean, 1, mean, mean});
}

TEST_CASE("mean_evaluator bounds more than 100 numbers with the normal "
          "distribution",
          "[rdd][approximate]") {
  // 101 numbers, 0 and 1 alternating from 0: mean 50/101, sample variance
  // (50 * 51 / 101) / 100; the normal quantile at 0.975 is 1.959963984540054.
  stat_counter xs;
  for (int k = 0; k <= 100; ++k)
    xs.merge(k % 2);
  mean_evaluator e{2, 0.95};
  e.merge(xs);
  auto mean = 50.0 / 101;
  auto half = 1.959963984540054 * std::sqrt(50.0 * 51 / 101 / 100 / 101);
  support::check_near(e.current_result(),
                      bounded_double{mean, 0.95, mean - half, mean + half});
}
