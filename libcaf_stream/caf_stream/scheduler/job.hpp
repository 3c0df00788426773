#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// One output operation's work for one batch (Spark's `Job`).
struct job {
  /// The batch this job belongs to.
  time batch_time;
  /// Index of the output operation in the graph.
  size_t output_id = 0;
  /// Computes the output's RDD and runs the output function.
  std::function<void()> run;
  /// What the output operation is ("print", "foreach_rdd", ...).
  const char* name = "foreach_rdd";
};

/// Every job of one batch, with the batch's input figures (Spark's `JobSet`).
struct job_set {
  time batch_time;
  std::vector<job> jobs;
  /// Records that entered the batch from all input streams.
  int64_t num_records = 0;
  /// Records from each receiver stream, by stream id.
  std::map<int32_t, int64_t> stream_records;
  /// When the job generator handed the set to the scheduler.
  time submission_time;

  /// The batch's figures as far as they are known at submission (Spark's
  /// `JobSet.toBatchInfo`).
  batch_info info(duration batch_interval) const {
    batch_info result;
    result.batch_time = batch_time;
    result.num_records = num_records;
    result.stream_records = stream_records;
    result.batch_interval = batch_interval;
    result.submission_time = submission_time;
    return result;
  }
};

class clock;

/// Runs `j`, timed by `clk`: what happened to its output operation. An
/// exception of the job is caught and becomes `failure_reason`.
output_operation_info run_output_operation(const job& j, const clock& clk);

} // namespace caf_stream
