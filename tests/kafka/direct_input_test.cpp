#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "caf_stream/kafka/direct_input.hpp"

using namespace caf_stream;
using kafka::topic_partition;

namespace {

using limits = std::map<topic_partition, int64_t>;

const topic_partition p0{"t", 0};
const topic_partition p1{"t", 1};

std::optional<limits> max_records(const limits& lags,
                                  std::optional<double> rate,
                                  double max_rate, double min_rate,
                                  int64_t batch_ms) {
  kafka::direct_settings s;
  s.max_rate_per_partition = max_rate;
  s.min_rate_per_partition = min_rate;
  return kafka::detail::max_records_per_partition(lags, rate, s,
                                                  duration{batch_ms});
}

// Each partition's rates from literal tables (Spark's PerPartitionConfig);
// a partition without a maximum has none (0), one without a minimum the
// default (1).
class table_rates final : public kafka::per_partition_config {
public:
  using table = std::map<topic_partition, double>;

  explicit table_rates(table max_rates, table min_rates = {})
    : max_rates_(std::move(max_rates)), min_rates_(std::move(min_rates)) {
    // nop
  }

  double max_rate_per_partition(const topic_partition& tp) const override {
    auto i = max_rates_.find(tp);
    return i != max_rates_.end() ? i->second : 0;
  }

  double min_rate_per_partition(const topic_partition& tp) const override {
    auto i = min_rates_.find(tp);
    return i != min_rates_.end()
             ? i->second
             : kafka::per_partition_config::min_rate_per_partition(tp);
  }

private:
  table max_rates_;
  table min_rates_;
};

// As `max_records`, with the settings' rates (3 and 2 records per second)
// overridden by `rates`.
std::optional<limits> max_records(const limits& lags,
                                  std::optional<double> rate,
                                  std::shared_ptr<const table_rates> rates,
                                  int64_t batch_ms) {
  kafka::direct_settings s;
  s.max_rate_per_partition = 3;
  s.min_rate_per_partition = 2;
  s.per_partition = std::move(rates);
  return kafka::detail::max_records_per_partition(lags, rate, s,
                                                  duration{batch_ms});
}

std::shared_ptr<const table_rates> rates(table_rates::table max_rates,
                                         table_rates::table min_rates = {}) {
  return std::make_shared<const table_rates>(std::move(max_rates),
                                             std::move(min_rates));
}

} // namespace

// Expectations worked out by hand from Spark's maxMessagesPerPartition:
// the rate split by lag, capped by the maximum rate, times the batch
// seconds, at least the minimum rate's records.
TEST_CASE("a backpressure rate is split over the partitions by their lag",
          "[kafka][backpressure]") {
  // 100 records/s over lags of 300 and 100: 75 and 25 per second.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, 0, 1, 1000)
        == limits{{p0, 75}, {p1, 25}});
  // Half-second batches: half as many records.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, 0, 1, 500)
        == limits{{p0, 37}, {p1, 12}});
  // The maximum rate caps a partition's share.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, 50, 1, 1000)
        == limits{{p0, 50}, {p1, 25}});
  // The minimum rate lifts a small share.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, 0, 40, 1000)
        == limits{{p0, 75}, {p1, 40}});
  // A partition without lag still reads the minimum, rounded up to a whole
  // record per batch (1 record/s over 50 ms batches).
  CHECK(max_records({{p0, 10}, {p1, 0}}, 100.0, 0, 1, 50)
        == limits{{p0, 5}, {p1, 1}});
}

TEST_CASE("without a backpressure rate the maximum rate alone limits",
          "[kafka][backpressure]") {
  CHECK(max_records({{p0, 300}, {p1, 100}}, std::nullopt, 10, 1, 500)
        == limits{{p0, 5}, {p1, 5}});
  CHECK(max_records({{p0, 300}, {p1, 100}}, std::nullopt, 0, 1, 1000)
        == std::nullopt);
  // A rate of 0 is no estimate.
  CHECK(max_records({{p0, 300}}, 0.0, 0, 1, 1000) == std::nullopt);
}

TEST_CASE("a per_partition_config gives each partition its own rates",
          "[kafka][backpressure]") {
  // Without a backpressure rate: 10/s over half a second; p1's maximum of
  // 0 is no limit, so it is left out (not held to its minimum, as Spark's
  // code would).
  CHECK(max_records({{p0, 300}, {p1, 100}}, std::nullopt,
                    rates({{p0, 10}}), 500)
        == limits{{p0, 5}});
  CHECK(max_records({{p0, 300}, {p1, 100}}, std::nullopt,
                    rates({{p0, 10}, {p1, 20}}), 1000)
        == limits{{p0, 10}, {p1, 20}});
  // No partition has a maximum: nothing limits the batch, whatever the
  // settings' own maximum (3/s).
  CHECK(max_records({{p0, 300}, {p1, 100}}, std::nullopt, rates({}), 1000)
        == std::nullopt);
  // 100 records/s over lags of 300 and 100: 75 and 25; p0's maximum caps
  // it at 50, p1 has none.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, rates({{p0, 50}}), 1000)
        == limits{{p0, 50}, {p1, 25}});
  // p1's minimum of 40/s lifts its share.
  CHECK(max_records({{p0, 300}, {p1, 100}}, 100.0, rates({}, {{p1, 40}}),
                    1000)
        == limits{{p0, 75}, {p1, 40}});
  // A partition without lag reads its minimum: the default of 1/s, not the
  // settings' 2/s.
  CHECK(max_records({{p0, 0}, {p1, 100}}, 100.0, rates({}), 1000)
        == limits{{p0, 1}, {p1, 100}});
}

TEST_CASE("a per_partition_config's rate that is negative, infinite or not "
          "a number fails the batch with a clear error",
          "[kafka][backpressure]") {
  auto nan = std::numeric_limits<double>::quiet_NaN();
  auto inf = std::numeric_limits<double>::infinity();
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(
    max_records({{p0, 1}, {p1, 1}}, std::nullopt, rates({{p1, -1}}), 1000),
    Contains("per_partition_config's max_rate_per_partition of topic 't' "
             "partition 1 is -1")
      && Contains("it must be a finite number, not negative"));
  CHECK_THROWS_WITH(
    max_records({{p0, 1}}, 100.0, rates({{p0, inf}}), 1000),
    Contains("max_rate_per_partition of topic 't' partition 0 is inf"));
  CHECK_THROWS_WITH(
    max_records({{p0, 1}}, 100.0, rates({}, {{p0, nan}}), 1000),
    Contains("min_rate_per_partition of topic 't' partition 0 is"));
}
