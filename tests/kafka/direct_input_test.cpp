#include <catch2/catch.hpp>

#include <map>
#include <optional>

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
