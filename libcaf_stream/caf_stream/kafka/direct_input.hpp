#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/kafka/types.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::kafka {

/// How a direct stream finds its partitions and where it starts reading
/// (Spark's `ConsumerStrategy`), apart from the record types.
struct consumer_settings {
  enum class kind { subscribe, subscribe_pattern, assign };

  kind how = kind::subscribe;
  /// `subscribe`: the topics, all their partitions (also ones added later).
  std::vector<std::string> topics;
  /// `subscribe_pattern`: an ECMAScript regex that whole topic names match.
  std::string pattern;
  /// `assign`: exactly these partitions.
  std::vector<topic_partition> partitions;
  /// librdkafka's settings.
  params kafka_params;
  /// Where partitions start; the others start at the group's committed
  /// offset, else where `auto.offset.reset` says (latest by default).
  std::map<topic_partition, int64_t> offsets;
};

/// The rates of each partition of a direct stream (Spark's
/// `PerPartitionConfig`, the last argument of `create_direct_stream`), in
/// place of `stream.kafka.max-rate-per-partition` and
/// `stream.kafka.min-rate-per-partition` for all: a topic whose records are
/// larger, or a partition that lags behind, can read at its own pace. The
/// driver asks every batch, from the thread that cuts it. A rate that is
/// negative, infinite or not a number fails the batch with a clear error.
class per_partition_config {
public:
  virtual ~per_partition_config();

  /// The records per second partition `tp` reads at most (0: no limit).
  virtual double max_rate_per_partition(const topic_partition& tp) const = 0;

  /// The records per second partition `tp` reads at least when a rate
  /// limits it, rounded up to a whole record per batch (1, as Spark's).
  virtual double min_rate_per_partition(const topic_partition& tp) const;
};

/// What a direct stream takes from the stream options.
struct direct_settings {
  /// `stream.kafka.max-rate-per-partition`: records per second and
  /// partition a batch reads at most (0: no limit).
  double max_rate_per_partition = 0;
  /// `stream.kafka.min-rate-per-partition`: records per second and
  /// partition a batch reads at least when a rate limits it (1).
  double min_rate_per_partition = 1;
  /// Each partition's own rates in place of the two above, if set.
  std::shared_ptr<const per_partition_config> per_partition;
  /// `stream.backpressure.enabled`: the rate controller's estimate, split
  /// over the partitions by their lag, limits the batches.
  bool backpressure = false;
  /// `stream.backpressure.initial-rate`: the rate until the first estimate
  /// (0: none).
  double initial_rate = 0;
  /// `stream.kafka.allow-non-consecutive-offsets`: accept gaps in a range's
  /// offsets (compacted or transactional topics).
  bool allow_non_consecutive_offsets = false;
  /// `stream.kafka.poll-timeout`: how long the driver waits for offsets and
  /// a task for the next record before the batch fails.
  duration poll_timeout{120000};
};

namespace detail {

/// Spark's `DirectKafkaInputDStream.maxMessagesPerPartition`: how many
/// records each partition's range may hold at most in a batch of
/// `batch_interval`, given the records waiting in each (`lags`) and the
/// backpressure `rate` (the rate controller's estimate or the initial rate;
/// none: no estimate). The rate is split over the partitions by their lag
/// and capped by each partition's maximum rate; without a rate the maximum
/// rates alone limit, and a partition whose maximum is 0 is not limited
/// (Spark then gives it its minimum; we follow the documentation, which
/// calls 0 no limit). A limited partition reads at least its minimum rate,
/// rounded up to whole records, so that a batch always makes progress
/// (Spark compares that rate with a record count; we follow its
/// documentation). The rates are `settings.per_partition`'s, else the
/// settings' own. The result has the limited partitions; none if nothing
/// limits the batch. Throws `stream_error` (errc::invalid_config) for a
/// rate that is negative, infinite or not a number.
std::optional<std::map<topic_partition, int64_t>>
max_records_per_partition(const std::map<topic_partition, int64_t>& lags,
                          std::optional<double> rate,
                          const direct_settings& settings,
                          duration batch_interval);

class driver_consumer;
class consumer_pool;
class kafka_waits;

/// Spark's DirectKafkaInputDStream apart from the record types: each batch
/// fixes one offset range per partition, from where the last batch ended to
/// the latest offset (capped by the rate), and remembers it for the
/// checkpoint, so that batches run again after a recovery read exactly the
/// same records. Offsets the program commits (`commit_async`) go to the
/// group at the start of the next batch and at `stop`.
class direct_input {
public:
  /// Connects a consumer for the tasks; throws `stream_error`
  /// (errc::invalid_config) with librdkafka's message on a bad setting.
  /// The driver's consumer connects when a batch first asks for offsets,
  /// so a worker node's copy of the stream, which never does, makes none.
  direct_input(consumer_settings consumer, direct_settings settings,
               duration batch_interval);

  ~direct_input();

  direct_input(const direct_input&) = delete;

  direct_input& operator=(const direct_input&) = delete;

  /// The ranges of batch `t`. Throws `stream_error` (errc::source_failure)
  /// when Kafka does not answer within the poll timeout or an offset is
  /// gone; the positions stay, so the next batch starts at the same place.
  /// With a `ranges_file`, the remembered batches' ranges are written to it
  /// (atomically) before the batch runs: Spark checkpoints when a batch is
  /// generated, so a batch that ran but was not checkpointed yet reads the
  /// same records when a recovery runs it again.
  std::vector<offset_range> next_ranges(time t,
                                        const std::string& ranges_file = {});

  /// Adds the batches of `ranges_file` that the checkpoint did not have
  /// (after `restore_positions`); returns them.
  std::vector<std::pair<time, std::vector<offset_range>>>
  restore_ranges_file(const std::string& ranges_file);

  /// The host of the leader broker of each range's partition, in order
  /// (`prefer_brokers`); empty for a partition without a leader, and for
  /// all of them, with a warning, when Kafka does not tell within the poll
  /// timeout (a preference is no reason to fail a batch).
  std::vector<std::string>
  leader_hosts(const std::vector<offset_range>& ranges);

  /// The ranges of batch `t` while it is remembered; throws `stream_error`
  /// (errc::invalid_graph) for a batch this stream has no ranges of.
  std::vector<offset_range> ranges_of(time t);

  /// Forgets the ranges of the batches before `t`.
  void forget_before(time t);

  /// The ranges of the remembered batches, as bytes.
  std::string checkpoint_positions();

  /// Restores what `checkpoint_positions` wrote; returns the remembered
  /// batches with their ranges. Later batches start where they ended.
  std::vector<std::pair<time, std::vector<offset_range>>>
  restore_positions(const std::string& bytes);

  /// Queues `ranges`' until offsets for the group's commit (Spark's
  /// `commitAsync`); `callback` gets the error text, empty on success.
  void commit_async(std::vector<offset_range> ranges,
                    std::function<void(const std::string&)> callback);

  /// Applies the rate controller's estimate (records per second over all
  /// partitions) to the batches cut from now on. Thread-safe.
  void update_rate(double records_per_second);

  /// Commits what `commit_async` queued (the next batch's start and stop).
  void commit_queued() noexcept;

  /// The context stops: the driver's and the tasks' waits on Kafka give up
  /// (within `kafka_waits::max_slice_ms`) instead of waiting out the poll
  /// timeout, and so do later ones. Thread-safe.
  void interrupt() noexcept;

  /// The settings tasks read with: the program's, with auto-commit off,
  /// partition ends reported and their own group id (Spark's executors').
  const params& executor_params() const noexcept {
    return executor_params_;
  }

  const direct_settings& settings() const noexcept {
    return settings_;
  }

  /// Reads the records of `range` as `read_range` does, with a consumer of
  /// this stream's pool (Spark's cached executor consumers): tasks reuse
  /// connected consumers instead of opening one per range and batch.
  void read(const offset_range& range,
            const std::function<void(raw_record&&)>& f);

private:
  std::vector<topic_partition> current_partitions();

  // The driver's consumer, made at its first use.
  driver_consumer& driver();

  int64_t starting_offset(const topic_partition& tp, int64_t low,
                          int64_t high);

  // Takes a restored batch's ranges: remembered, replayed when the batch
  // runs again, and later batches start after them. Needs `mtx_`.
  std::vector<offset_range> adopt(time t, std::vector<offset_range> ranges);

  consumer_settings consumer_;
  direct_settings settings_;
  duration batch_interval_;
  params executor_params_;
  // Before the consumers, which wait as it says: it outlives them.
  std::unique_ptr<kafka_waits> waits_;
  std::mutex driver_mtx_;
  std::unique_ptr<driver_consumer> driver_;
  std::unique_ptr<consumer_pool> pool_;
  std::mutex mtx_;
  // The rate controller's latest estimate, if there is one.
  std::optional<double> rate_;
  std::map<topic_partition, int64_t> positions_;
  std::map<time, std::vector<offset_range>> batches_;
  std::map<time, std::vector<offset_range>> replay_;
  std::vector<std::pair<std::vector<offset_range>,
                        std::function<void(const std::string&)>>>
    commits_;
};

/// Reads the records of `range` with a consumer assigned to it (Spark's
/// KafkaRDD iterator), passing each to `f` in offset order. Throws
/// `stream_error` (errc::source_failure) naming topic, partition and
/// offset when a record does not come within the poll timeout, an offset
/// is gone, or the offsets have gaps that the settings do not allow.
void read_range(const params& executor_params, const offset_range& range,
                const direct_settings& settings,
                const std::function<void(raw_record&&)>& f);

} // namespace detail
} // namespace caf_stream::kafka
