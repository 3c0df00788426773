#include <catch2/catch.hpp>

#include <cmath>

#include "caf_stream/rdd/stat_counter.hpp"

using namespace caf_stream;

TEST_CASE("stat_counter counts in one pass", "[rdd][stat_counter]") {
  stat_counter s;
  for (double x : {1.0, 2.0, 3.0, 4.0, 5.0})
    s.merge(x);
  // Deviations from 3: -2 -1 0 1 2, squares add up to 10.
  CHECK(s.count() == 5);
  CHECK(s.mean() == Approx(3.0));
  CHECK(s.sum() == Approx(15.0));
  CHECK(s.variance() == Approx(2.0));
  CHECK(s.pop_variance() == Approx(2.0));
  CHECK(s.sample_variance() == Approx(2.5));
  CHECK(s.stdev() == Approx(std::sqrt(2.0)));
  CHECK(s.pop_stdev() == Approx(std::sqrt(2.0)));
  CHECK(s.sample_stdev() == Approx(std::sqrt(2.5)));
  CHECK(s.max() == 5.0);
  CHECK(s.min() == 1.0);
}

TEST_CASE("stat_counter merges counters as one", "[rdd][stat_counter]") {
  stat_counter a;
  stat_counter b;
  for (double x : {1.0, 2.0, 3.0})
    a.merge(x);
  for (double x : {4.0, 5.0})
    b.merge(x);
  stat_counter empty;
  a.merge(b).merge(empty);
  CHECK(a.count() == 5);
  CHECK(a.mean() == Approx(3.0));
  CHECK(a.sample_variance() == Approx(2.5));
  CHECK(a.max() == 5.0);
  CHECK(a.min() == 1.0);
  empty.merge(a);
  CHECK(empty.count() == 5);
  CHECK(empty.variance() == Approx(2.0));
}

TEST_CASE("stat_counter of no number", "[rdd][stat_counter]") {
  stat_counter s;
  CHECK(s.count() == 0);
  CHECK(s.mean() == 0.0);
  CHECK(s.sum() == 0.0);
  CHECK(std::isnan(s.variance()));
  CHECK(std::isnan(s.sample_stdev()));
  CHECK(s.max() == -INFINITY);
  CHECK(s.min() == INFINITY);
  s.merge(7.0);
  CHECK(s.variance() == 0.0);
  CHECK(std::isnan(s.sample_variance()));
}
