#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/duration.hpp"

namespace caf_stream {

/// When the receiver write-ahead log forces what it wrote to disk
/// (`stream.receiver.write-ahead-log.sync`). Under every policy a record is
/// in the kernel before `store` returns, so a killed process loses nothing;
/// the policy decides what a machine that loses power may lose.
enum class wal_sync {
  /// fsync after every block and every batch's allocation (`every-block`).
  every_block,
  /// fsync each receiver's log once per block interval and the allocation
  /// log once per batch (`every-interval`): a power loss may lose the last
  /// block interval.
  every_interval,
  /// Never fsync (`never`): the kernel writes when it likes.
  never,
};

/// Parses "every-block", "every-interval" or "never"; throws `stream_error`
/// (errc::invalid_config) naming the key otherwise.
wal_sync parse_wal_sync(const std::string& x);

/// The configuration value of `x`, e.g. "every-block".
std::string to_string(wal_sync x);

/// Where the receivers run (`stream.receiver.placement`).
enum class receiver_placement {
  /// On the worker nodes when `stream.nodes` names any, else on the driver
  /// (the default, unset).
  automatic,
  /// On the worker nodes (`workers`); needs `stream.nodes`.
  workers,
  /// On the driver (`driver`).
  driver,
};

/// Parses "workers" or "driver"; throws `stream_error`
/// (errc::invalid_config) naming the key otherwise.
receiver_placement parse_receiver_placement(const std::string& x);

/// Where the map tasks of portable streams run (`stream.task.placement`).
enum class task_placement {
  /// On the worker nodes when there are or may join any, else on the
  /// driver (the default, unset).
  automatic,
  /// On the worker nodes (`workers`); needs `stream.nodes`.
  workers,
  /// On the driver (`driver`).
  driver,
};

/// Parses "workers" or "driver"; throws `stream_error`
/// (errc::invalid_config) naming the key otherwise.
task_placement parse_task_placement(const std::string& x);

/// The runtime settings of a streaming context. In an actor application they
/// come from CAF's configuration (`caf-application.ini`, `--key=value`) under
/// the keys named below; see `caf_stream::stream_config`.
struct stream_options {
  /// `stream.block-interval`: how often received records are sealed into a
  /// block (Spark's `spark.streaming.blockInterval`, 200 ms).
  duration block_interval{200};

  /// `stream.workers`: operator workers that run tasks (0: one per core).
  size_t workers = 0;

  /// `stream.default-parallelism`: partitions of by-key operations that name
  /// no count (0: as many as workers).
  size_t default_parallelism = 0;

  /// `stream.receiver.restart-delay`: pause before a receiver is started
  /// again (Spark's `spark.streaming.receiverRestartDelay`, 2 s).
  duration receiver_restart_delay{2000};

  /// `stream.receiver.max-line-length`: longest line (bytes) the socket and
  /// file sources accept; longer lines are reported and skipped.
  size_t max_line_length = 1 << 20;

  /// `stream.receiver.max-rate`: records per second each receiver may store
  /// (Spark's `spark.streaming.receiver.maxRate`; 0: unlimited).
  double max_rate = 0;

  /// `stream.block-queue-size`: blocks stored whole by the threads of a
  /// receiver on a worker node that may be on their way to the driver's
  /// tracker at once before `store` waits (Spark's `blockQueueSize`, 10).
  /// Each goes before its `store` returns; on the driver a block stored
  /// whole waits in memory for the next seal, as records stored one by one
  /// do, and holds no `store` up. With `stream.receiver.replication` 2 on a
  /// worker node, the blocks sealed from records stored one by one count
  /// too while they wait for their copy on a second node.
  size_t block_queue_size = 10;

  /// `stream.receiver.write-ahead-log.enable`: log every received block in
  /// the checkpoint directory before it counts as stored, and which blocks
  /// each batch got, so that recovery from a checkpoint runs the lost
  /// batches with their data (Spark's
  /// `spark.streaming.receiver.writeAheadLog.enable`; needs a checkpoint
  /// directory).
  bool write_ahead_log = false;

  /// `stream.receiver.write-ahead-log.sync`: when the log is forced to disk.
  wal_sync write_ahead_log_sync = wal_sync::every_interval;

  /// `stream.receiver.write-ahead-log.rolling-interval`: how long the log
  /// writes to one segment file before it starts the next (Spark's
  /// `rollingIntervalSecs`, 60 s); old segments are deleted whole.
  duration write_ahead_log_rolling_interval{60000};

  /// `stream.file-stream.min-remember-duration`: how far back before a
  /// batch the file streams take files by their modification time, and
  /// remember the files they took (Spark's
  /// `spark.streaming.fileStream.minRememberDuration`, 60 s), rounded up to
  /// whole batches.
  duration file_stream_min_remember_duration{60000};

  /// `stream.stop-gracefully-on-shutdown`: whether the `shutdown_hook`
  /// stops the context gracefully on SIGINT or SIGTERM (Spark's
  /// `spark.streaming.stopGracefullyOnShutdown`, false).
  bool stop_gracefully_on_shutdown = false;

  /// `stream.graceful-stop-timeout`: how long a graceful stop waits at most
  /// for the data received so far to be processed (Spark's
  /// `spark.streaming.gracefulStopTimeout`); the batch that runs then still
  /// completes, the ones queued behind it are skipped. None: 10 batch
  /// intervals, Spark's default.
  std::optional<duration> graceful_stop_timeout;

  /// `stream.backpressure.enabled`: adapt the receivers' rate to what the
  /// batches manage to process (Spark's `spark.streaming.backpressure.*`).
  bool backpressure_enabled = false;

  /// `stream.backpressure.initial-rate`: the receivers' rate until the first
  /// estimate (0: unlimited, or `max-rate`).
  double backpressure_initial_rate = 0;

  /// `stream.backpressure.pid.proportional`, `.integral`, `.derived` and
  /// `.min-rate`: the PID rate estimator's gains and floor (Spark's
  /// defaults).
  double pid_proportional = 1.0;
  double pid_integral = 0.2;
  double pid_derived = 0.0;
  double pid_min_rate = 100;

  /// `stream.nodes` (older name `stream.state-nodes`): the worker nodes, as
  /// "host:port" of programs that build the same graph and call
  /// `streaming_context::serve`. Today they hold the state and run the
  /// receivers: partition `i` of each state stream, and receiver stream `i`
  /// (`placement`), go to node `i % n` (or the next one that takes it, else
  /// this node). Empty: everything on this node. Needs CAF's middleman.
  std::vector<std::string> state_nodes;

  /// `stream.driver-port`: the port on which this driver lets worker nodes
  /// join at run time (Spark's `spark.driver.port`): a node started with
  /// `stream.driver` registers there and gets work as the nodes of
  /// `state_nodes` do, until it deregisters or is lost. 0: no node joins.
  uint16_t driver_port = 0;

  /// `stream.driver-bind-address`: the address `driver_port` listens on
  /// (Spark's `spark.driver.bindAddress`); "0.0.0.0" for every interface.
  std::string driver_bind_address = "127.0.0.1";

  /// `stream.driver`: on a worker node, the "host:port" of the driver it
  /// joins (that driver's `driver_port`); empty: it waits to be named in a
  /// driver's `stream.nodes`.
  std::string driver;

  /// `stream.receiver.placement`: where the receivers run, `workers` or
  /// `driver` (default: on the worker nodes when there are any). A receiver
  /// on a worker sends its blocks to the driver's receiver tracker; when
  /// its node is lost it starts again on the next node, else on the driver.
  receiver_placement placement = receiver_placement::automatic;

  /// `stream.receiver.replication`: copies of each block of a receiver on a
  /// worker node. 2 (Spark's default storage level): a block has its second
  /// copy before the driver learns of it (one stored whole,
  /// `store(std::vector<T>)`, before `store` returns), on another worker
  /// node when the blocks stay on the nodes (map tasks on the workers),
  /// else at the driver: the loss of one node loses no stored block. 1: a
  /// kept block is lost with its node, and a batch that reads it fails.
  size_t receiver_replication = 2;

  /// `stream.task.placement`: where the map tasks of shuffles run,
  /// `workers` or `driver` (default: on the worker nodes when there are
  /// any, as Spark's tasks run on its executors). On the workers, a map
  /// stage goes to the worker nodes when another node computes the same
  /// RDD from the batch's inputs (`dstream_node_base::portable_lineage`: a
  /// stream without state, window or `transform`, or a state stream's
  /// shuffle of such a stream's batch) and its records serialize; the
  /// buckets come back to the driver, whose reduce tasks read them.
  task_placement tasks = task_placement::automatic;

  /// `stream.task.max-failures`: how often a task may fail before its stage
  /// fails (Spark's `spark.task.maxFailures`, 4). A task whose worker node
  /// fails or is lost runs again on the next node, then on the driver.
  size_t task_max_failures = 4;

  /// `stream.speculation.enabled`: whether copies of a worker node's map
  /// tasks run elsewhere when its answer is late, the first answer winning
  /// (Spark's `spark.speculation`, off there; on here, so that a frozen
  /// node does not hold batches up until its connection times out). Late:
  /// once at least as many nodes answered as are still waited for, and it
  /// took `stream.speculation.multiplier` (1.5) times their median per
  /// round of tasks (tasks over task slots) for each of its rounds, and at
  /// least `stream.speculation.min-task-runtime` (500 ms). It then rests.
  bool speculation = true;
  double speculation_multiplier = 1.5;
  duration speculation_min_task_runtime{500};

  /// `stream.shuffle.fetch-chunk`: the most bytes of map output one fetch
  /// asks a node for (map stages on worker nodes keep their buckets there
  /// until the driver fetched them).
  size_t shuffle_fetch_chunk = 1 << 20;

  /// `stream.shuffle.max-in-flight`: the most bytes of map output asked
  /// for and not received yet (Spark's `spark.reducer.maxSizeInFlight`,
  /// 48 MiB): CAF 0.17's BASP has no flow control, so an unbounded fetch of
  /// large buckets could exhaust memory.
  size_t shuffle_max_in_flight = 48 << 20;

  /// `stream.state-timeout`: how long a batch waits for a state holder's
  /// answer; a holder on a state node that does not answer in time is taken
  /// as lost, and its partition moves (a state node that hangs).
  duration state_timeout{60000};

  /// `stream.state-log-limit`: records the driver keeps, per state
  /// partition on a state node, to give a new holder when that node is
  /// lost: the partition's updates since its state was last saved. Past
  /// this many the driver asks the holder for its state and keeps that
  /// instead, as a checkpoint does.
  size_t state_log_limit = 10'000'000;

  /// `stream.app-id`: what a state node checks, besides the graph, before
  /// it serves a driver: both must run the same program. Empty: the
  /// executable's build id (the same binary on every node); set it when the
  /// driver and the nodes are different executables of one application.
  std::string app_id;

  /// `stream.serialize-messages`: every job set and task goes through bytes
  /// and back before it is handled, as it would to another node, also on
  /// one node (shows that a program's records can leave the node; slower).
  bool serialize_messages = false;

  /// `stream.listener-bus.capacity`: listener events that may wait for slow
  /// listeners; past it new events are dropped, with a warning (Spark's
  /// `spark.scheduler.listenerbus.eventqueue.capacity`, 10000).
  size_t listener_bus_capacity = 10'000;

  /// `stream.ui.enabled`: whether the context serves the streaming UI,
  /// Spark's REST API and the Prometheus metrics (Spark's
  /// `spark.ui.enabled`). None: on for a context that owns its actor
  /// system, off for one inside an actor application.
  std::optional<bool> ui_enabled;

  /// `stream.ui.port`: the UI's port (Spark's 4040); if taken, the next
  /// free one of the 16 after it. 0: any free port.
  uint16_t ui_port = 4040;

  /// `stream.ui.address`: the address the UI listens on.
  std::string ui_address = "127.0.0.1";

  /// `stream.ui.retained-batches`: completed batches the UI keeps (Spark's
  /// `spark.streaming.ui.retainedBatches`).
  size_t ui_retained_batches = 1000;

  /// `stream.sink.max-retries`: how often a database sink retries writing a
  /// batch that failed (reconnecting each time) before the batch fails.
  size_t sink_max_retries = 3;

  /// `stream.kafka.max-rate-per-partition`: records per second and Kafka
  /// partition a direct stream's batch reads at most (Spark's
  /// `spark.streaming.kafka.maxRatePerPartition`; 0: no limit).
  double kafka_max_rate_per_partition = 0;

  /// `stream.kafka.min-rate-per-partition`: records per second and Kafka
  /// partition a batch reads at least when a rate limits it (Spark's
  /// `spark.streaming.kafka.minRatePerPartition`, 1).
  double kafka_min_rate_per_partition = 1;

  /// `stream.kafka.allow-non-consecutive-offsets`: accept gaps in offsets
  /// (compacted or transactional topics; Spark's
  /// `spark.streaming.kafka.allowNonConsecutiveOffsets`).
  bool kafka_allow_non_consecutive_offsets = false;

  /// `stream.kafka.poll-timeout`: how long the driver waits for offsets and
  /// a task for the next record before the batch fails (Spark's
  /// `spark.streaming.kafka.consumer.poll.ms`, 120 s).
  duration kafka_poll_timeout{120000};

  /// Throws `stream_error` (errc::invalid_config) naming the key and value
  /// of the first setting that is out of range.
  void validate() const;

  /// The time `graceful_stop_timeout` gives a graceful stop of a context
  /// whose batches come every `batch_interval`.
  duration graceful_stop_wait(duration batch_interval) const noexcept {
    return graceful_stop_timeout.value_or(batch_interval * 10);
  }

  /// Returns whether work may go to worker nodes: `stream.nodes` names
  /// some, or nodes may join (`driver_port`).
  bool with_nodes() const noexcept {
    return !state_nodes.empty() || driver_port != 0;
  }

  /// Returns whether the receivers run on the worker nodes: asked for, or
  /// by default when there are or may join nodes and no receiver
  /// write-ahead log (which the driver writes).
  bool receivers_on_workers() const noexcept {
    if (placement == receiver_placement::automatic)
      return with_nodes() && !write_ahead_log;
    return placement == receiver_placement::workers;
  }

  /// Returns whether the map tasks of portable streams go to the worker
  /// nodes: asked for, or by default when there are or may join nodes.
  bool tasks_on_workers() const noexcept {
    if (tasks == task_placement::automatic)
      return with_nodes();
    return tasks == task_placement::workers;
  }

  /// Fills the zero ("as many as ...") settings in with their actual values.
  stream_options resolved() const;
};

/// Splits a "host:port" node address; throws `stream_error`
/// (errc::invalid_config) naming `key` if it is malformed.
std::pair<std::string, uint16_t> parse_node_address(const std::string& x,
                                                    const char* key);

} // namespace caf_stream
