#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <vector>

#include "caf_stream/scheduler/pid_rate_estimator.hpp"

using namespace caf_stream;

// Spark's PIDRateEstimatorSuite: batches every 20 ms.

namespace {

pid_rate_estimator default_estimator() {
  return pid_rate_estimator{20, 1.0, 0.0, 0.0, 10};
}

} // namespace

TEST_CASE("the estimator checks its parameters", "[scheduler][rate]") {
  CHECK_THROWS_AS(pid_rate_estimator(0, 1, 2, 3, 10), std::invalid_argument);
  CHECK_THROWS_AS(pid_rate_estimator(100, -1, 2, 3, 10), std::invalid_argument);
  CHECK_THROWS_AS(pid_rate_estimator(100, 0, -1, 3, 10), std::invalid_argument);
  CHECK_THROWS_AS(pid_rate_estimator(100, 0, 0, -1, 10), std::invalid_argument);
  CHECK_THROWS_AS(pid_rate_estimator(100, 0, 0, 0, 0), std::invalid_argument);
  CHECK_THROWS_WITH(pid_rate_estimator(100, 0, 0, 0, -10),
                    Catch::Contains("min-rate must be positive"));
}

TEST_CASE("the first batch only sets the baseline", "[scheduler][rate]") {
  auto p = default_estimator();
  CHECK(p.compute(0, 10, 10, 0) == std::nullopt);
  // 10 records in 10 ms: 1000 records per second.
  CHECK(p.compute(10, 10, 10, 0) == 1000.0);
}

TEST_CASE("batches with nothing to learn from are skipped",
          "[scheduler][rate]") {
  auto p = default_estimator();
  p.compute(0, 10, 10, 0);
  CHECK(p.compute(10, 10, 10, 0) != std::nullopt);
  CHECK(p.compute(10, 10, 10, 0) == std::nullopt); // same time
  CHECK(p.compute(20, 0, 10, 0) == std::nullopt);  // no records
  CHECK(p.compute(30, -10, 10, 0) == std::nullopt);
  CHECK(p.compute(40, 10, 0, 0) == std::nullopt); // no processing time
  CHECK(p.compute(50, 10, -10, 0) == std::nullopt);
}

TEST_CASE("the rate never drops below the minimum", "[scheduler][rate]") {
  pid_rate_estimator p{20, 1.0, 1.0, 0.0, 5};
  CHECK(p.compute(0, 1, 20, 100) == std::nullopt);
  for (int64_t i = 1; i < 50; ++i)
    CHECK(p.compute(i * 20, 1, 20, 100) == 5.0);
}

TEST_CASE("without scheduling delay the rate follows the processing rate",
          "[scheduler][rate]") {
  pid_rate_estimator p{20, 1.0, 1.0, 0.0, 10};
  SECTION("increasing") {
    CHECK(p.compute(0, 20, 20, 0) == std::nullopt);
    for (int64_t i = 1; i < 50; ++i)
      CHECK(p.compute(i * 20, (i + 1) * 20, 20, 0) == (i + 1) * 1000.0);
  }
  SECTION("decreasing") {
    CHECK(p.compute(0, 50 * 20, 20, 0) == std::nullopt);
    for (int64_t i = 1; i < 50; ++i)
      CHECK(p.compute(i * 20, (50 - i) * 20, 20, 0) == (50 - i) * 1000.0);
  }
}

TEST_CASE("a scheduling delay keeps the rate below the processing rate",
          "[scheduler][rate]") {
  pid_rate_estimator p{20, 1.0, 0.01, 0.0, 10};
  std::vector<int64_t> records{1500, 1200, 1900, 1100, 1700, 1300, 1000, 1999};
  std::vector<int64_t> delays{5, 1, 19, 7, 3, 12, 18, 2};
  CHECK(p.compute(0, records[0], 20, delays[0]) == std::nullopt);
  for (size_t i = 1; i < records.size(); ++i) {
    auto rate = p.compute(static_cast<int64_t>(i) * 20, records[i], 20,
                          delays[i]);
    REQUIRE(rate);
    CHECK(*rate < static_cast<double>(records[i]) / 20 * 1000);
    CHECK(*rate >= 10);
  }
}
