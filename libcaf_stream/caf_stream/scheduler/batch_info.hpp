#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "caf_stream/duration.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// What happened to one batch (Spark's `BatchInfo`). Times are read from the
/// context's clock.
struct batch_info {
  /// The batch's time on the grid.
  time batch_time;
  /// Records that entered the batch from all input streams.
  int64_t num_records = 0;

  /// Records from each receiver stream, by stream id (Spark's
  /// `streamIdToInputInfo`).
  std::map<int32_t, int64_t> stream_records;

  /// The context's batch interval.
  duration batch_interval{0};
  /// When the batch's jobs were handed to the scheduler.
  time submission_time;
  /// When its first job started.
  std::optional<time> processing_start_time;
  /// When its last job ended.
  std::optional<time> processing_end_time;
  /// The first error a job of the batch raised, if any.
  std::optional<std::string> failure_reason;

  /// Time waiting for earlier batches: start - submission.
  std::optional<duration> scheduling_delay() const {
    if (!processing_start_time)
      return std::nullopt;
    return *processing_start_time - submission_time;
  }

  /// Time spent running the jobs: end - start.
  std::optional<duration> processing_delay() const {
    if (!processing_start_time || !processing_end_time)
      return std::nullopt;
    return *processing_end_time - *processing_start_time;
  }

  /// Records per second that entered the batch (records / batch interval).
  double input_rate() const {
    if (batch_interval.count() <= 0)
      return 0;
    return static_cast<double>(num_records) * 1000.0
           / static_cast<double>(batch_interval.count());
  }

  /// Scheduling plus processing delay.
  std::optional<duration> total_delay() const {
    auto s = scheduling_delay();
    auto p = processing_delay();
    if (!s || !p)
      return std::nullopt;
    return *s + *p;
  }
};

} // namespace caf_stream
