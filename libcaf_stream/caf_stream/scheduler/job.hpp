#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

class byte_out;

} // namespace caf_stream::detail

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

/// What an input without a receiver fixed for one batch (a queue's RDD,
/// the files a directory stream took, a direct Kafka stream's offset
/// ranges, a test's data), as the job set carries it to where the batch
/// runs: the batch's RDD by pointer on one node; its partitions' records as
/// Boost.Serialization bytes once it crossed a node boundary.
struct generated_input {
  /// The batch's `rdd<T>` of the stream's element type (null once it came
  /// from another node).
  std::shared_ptr<const void> data;
  /// Records in the batch (0 if the input does not know).
  int64_t records = 0;
  /// Computes the RDD's partitions as bytes, one string each: those that
  /// `wanted` marks (every one if null), the others empty; null if the
  /// element type has no serialization.
  std::vector<std::string> (*encode)(const void*,
                                     const std::vector<bool>* wanted)
    = nullptr;
  /// Writes partition `i`'s bytes, as `encode` makes them, straight from
  /// the records the RDD holds (a parallelized collection of records that
  /// `to_bytes` writes by hand), through `out`, or only counts them if
  /// `out` is null; answers how many. 0 where the RDD computes the
  /// partition or does not write its records by hand.
  size_t (*write_held)(const void*, size_t i, detail::byte_out* out)
    = nullptr;
  /// The bytes of the partitions that `write_held` writes into the message
  /// as it is sent, by partition (0: the partition's bytes, if any, are in
  /// `partitions`; a partition written on send stays empty there).
  /// `stage_inputs` sends a worker node the partitions its tasks read so.
  std::vector<size_t> written_on_send;
  /// The partitions as bytes, after the input came from another node.
  std::vector<std::string> partitions;

  /// The partitions as bytes: those that `wanted` marks (every one if
  /// null), the others empty; throws `stream_error` if the element type has
  /// no `serialize`.
  std::vector<std::string>
  to_bytes(const std::vector<bool>* wanted = nullptr) const;
};

/// A batch as the job generator hands it over (Spark's `JobSet`): its jobs,
/// everything they read that the generator fixed, and its input figures.
/// Plain data, so that it can travel to another node.
struct job_set {
  time batch_time;
  std::vector<job> jobs;
  /// The blocks the tracker allocated to the batch, by receiver stream.
  std::map<int32_t, std::vector<block>> blocks;
  /// What the inputs without a receiver fixed for the batch, by the
  /// input's index in the graph.
  std::map<uint32_t, generated_input> inputs;
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
/// operation. `started` gets the operation as its job starts (its start
/// time set). An exception of `body` is caught and becomes
/// `failure_reason`.
output_operation_info run_output_operation(
  const job& j, detail::function_ref<void()> body, const clock& clk,
  detail::function_ref<void(const output_operation_info&)> started);

} // namespace caf_stream
