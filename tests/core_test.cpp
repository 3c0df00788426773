// Links against caf_stream::core alone: every header under libcaf_stream/
// declares only what core defines, so a program that builds RDDs, drives a
// manual clock and estimates rates needs no actor runtime.

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/scheduler/pid_rate_estimator.hpp"
#include "caf_stream/testing/fixtures.hpp"
#include "caf_stream/testing/manual_clock.hpp"

using namespace caf_stream;

TEST_CASE("RDDs run without the runtime", "[core]") {
  auto words = parallelize(std::vector<std::string>{"a", "b", "a", "c", "a"},
                           3);
  auto counts = words
                  .map([](const std::string& w) {
                    return std::make_pair(w, 1);
                  })
                  .reduce_by_key([](int x, int y) { return x + y; }, 2)
                  .collect();
  std::sort(counts.begin(), counts.end());
  CHECK(counts
        == std::vector<std::pair<std::string, int>>{{"a", 3}, {"b", 1},
                                                    {"c", 1}});
}

TEST_CASE("the manual clock and the rate estimator need no runtime",
          "[core]") {
  testing::manual_clock clk;
  int fired = 0;
  clk.schedule(caf_stream::time{500}, [&] { ++fired; });
  clk.advance(duration{1000});
  CHECK(fired == 1);
  pid_rate_estimator estimator{1000};
  // Spark's estimator skips the first batch.
  CHECK_FALSE(estimator.compute(1000, 1000, 500, 0));
  CHECK(testing::default_test_options().workers == 2);
  testing::temporary_directory dir;
  CHECK_FALSE(dir.path().empty());
}
