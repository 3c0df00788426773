#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// One output operation's work for one batch (Spark's `Job`), named by what
/// it computes: whoever runs it resolves it against its own copy of the
/// graph, which the same program built.
struct job {
  /// The batch this job belongs to.
  time batch_time;
  /// Index of the output operation in the graph.
  size_t output_id = 0;
  /// What the output operation is ("print", "foreach_rdd", ...).
  std::string name;
};

/// A batch as the job generator hands it over (Spark's `JobSet`): its jobs,
/// everything they read that the generator fixed, and its input figures.
/// Plain data, so that it can travel to another node.
struct job_set {
  time batch_time;
  std::vector<job> jobs;
  /// The blocks the tracker allocated to the batch, by receiver stream.
  std::map<int32_t, std::vector<block>> blocks;
  /// Why the batch's inputs could not be fixed; its jobs then fail with it.
  std::string failure;
  /// Records that entered the batch from all input streams.
  int64_t num_records = 0;
  /// Records from each receiver stream, by stream id.
  std::map<int32_t, int64_t> stream_records;
  /// When the job generator handed the set to the scheduler.
  time submission_time;

  /// Fails the batch with `why`: each of its jobs fails with it, and one
  /// named `step` stands in when it has none.
  void fail(std::string why, const char* step) {
    failure = std::move(why);
    if (jobs.empty())
      jobs.push_back(job{batch_time, 0, step});
  }

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

/// Runs `j` through `body`, timed by `clk`: what happened to its output
/// operation. An exception of `body` is caught and becomes `failure_reason`.
output_operation_info run_output_operation(const job& j,
                                           detail::function_ref<void()> body,
                                           const clock& clk);

} // namespace caf_stream
