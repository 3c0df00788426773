#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/scheduler/executor_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// One output operation of a batch (Spark's `OutputOperationInfo`): the job
/// that ran it, in the order the program declared the outputs.
struct output_operation_info {
  /// The batch it belongs to.
  time batch_time;
  /// The index of the output operation in the graph (Spark's `id`).
  size_t id = 0;
  /// What it is: "print", "foreach_rdd", "save_as_text_files", ...
  std::string name;
  /// When its job started and ended.
  std::optional<time> start_time;
  std::optional<time> end_time;
  /// The error its job raised, if any.
  std::optional<std::string> failure_reason;

  /// How long the job ran: end - start.
  std::optional<duration> run_time() const {
    if (!start_time || !end_time)
      return std::nullopt;
    return *end_time - *start_time;
  }
};

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

  /// Keys each state stream held after the batch, by state id (the streams
  /// of `update_state_by_key`, `map_with_state` and incremental windows, in
  /// the order the program built them): as of each stream's last call,
  /// known once the batch completed.
  std::map<int32_t, int64_t> state_keys;

  /// The tasks each executor ran for the batch, by executor id ("driver",
  /// or a worker node's "host:port"; a state stream's call counts one per
  /// state partition, where its holder ran it): known once the batch
  /// completed (not in Spark's `BatchInfo`; the Executors tab's task
  /// counts).
  std::map<std::string, executor_tasks> tasks;
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
  /// The batch's output operations, by id (Spark's `outputOperationInfos`):
  /// known once the batch completed.
  std::vector<output_operation_info> output_operations;

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
