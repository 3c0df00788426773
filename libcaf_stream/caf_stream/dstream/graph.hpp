#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/scheduler/job.hpp"

namespace caf_stream {

class state_operator;

} // namespace caf_stream

namespace caf_stream::detail {

class receiver_input_base;

/// Spark's DStreamGraph: every stream of a context, its inputs and outputs.
/// Built by the user's thread, frozen by `start`, then driven by the runtime.
class dstream_graph {
public:
  dstream_graph(duration batch_interval, size_t default_parallelism);

  ~dstream_graph();

  duration batch_interval() const noexcept {
    return batch_interval_;
  }

  /// What the actions of the RDDs this graph generates run on: the job
  /// executor installs its runner here.
  const rdd_context_ptr& context() const noexcept {
    return context_;
  }

  /// Partitions of shuffles that name no count: this process's
  /// `stream.default-parallelism`, or on a worker node its driver's
  /// (`use_driver_parallelism`).
  size_t default_parallelism() const noexcept {
    return default_parallelism_.load(std::memory_order_relaxed);
  }

  /// On a worker node: shuffles that name no count have `n` partitions from
  /// the next lineage built on (0: keeps the count), the driver's default
  /// parallelism, as Spark's executors use the driver's
  /// `spark.default.parallelism`. The by-key operations resolve their
  /// count when a batch's lineage is built (`partition_count`).
  void use_driver_parallelism(size_t n) noexcept {
    if (n != 0)
      default_parallelism_.store(n, std::memory_order_relaxed);
  }

  /// How often a database sink retries a failed batch
  /// (`stream.sink.max-retries`).
  size_t sink_max_retries() const noexcept {
    return sink_max_retries_;
  }

  void set_sink_max_retries(size_t n) noexcept {
    sink_max_retries_ = n;
  }

  /// Gives the progress row `row` (a database and the name under which a
  /// database sink records its batches there) to `sink` (its description);
  /// returns the description of the graph's sink that has it already, if
  /// one does: two sinks with one row would skip each other's batches.
  std::optional<std::string> claim_progress_row(const std::string& row,
                                                const std::string& sink);

  /// Makes every stream keep the RDDs it generated for at least `d` (Spark's
  /// `StreamingContext.remember`), e.g. to `slice` them later. Throws
  /// `stream_error` if `d` is not positive, once set, or once started.
  void remember(duration d);

  /// Adds a stream; throws `stream_error` once the graph started or stopped.
  void add(std::shared_ptr<dstream_node_base> node);

  /// Whether streams may still be added or changed (not started yet).
  bool is_open() const noexcept {
    return state_ == state::initialized;
  }

  /// Adds an input stream (also added as a stream).
  void add_input(std::shared_ptr<dstream_node_base> node,
                 std::shared_ptr<input_node_base> input);

  /// The number of inputs so far (the next input's index: the same in every
  /// run of the same program).
  size_t num_inputs() const noexcept {
    return inputs_.size();
  }

  /// Adds an input whose batches a rate controller limits (also added as
  /// an input); its stream id must be `next_stream_id()`.
  void add_rate_controlled_input(std::shared_ptr<dstream_node_base> node,
                                 std::shared_ptr<input_node_base> input,
                                 std::shared_ptr<rate_controlled_input> rc);

  /// Adds a receiver input (also added as an input).
  void add_receiver_input(std::shared_ptr<dstream_node_base> node,
                          std::shared_ptr<receiver_input_base> input);

  /// Adds the operator of a state stream and sets its state id; throws
  /// `stream_error` once the graph started or stopped.
  void add_state_operator(std::shared_ptr<state_operator> op);

  /// The state streams' operators, by state id.
  const std::vector<std::shared_ptr<state_operator>>&
  state_operators() const noexcept {
    return state_operators_;
  }

  /// Adds an output operation.
  void add_output(std::shared_ptr<output_node_base> output);

  /// The number of output operations so far (the next output's id).
  size_t num_outputs() const noexcept {
    return outputs_.size();
  }

  /// Throws `stream_error` unless the graph can run (it has outputs, state
  /// streams have a checkpoint directory, ...).
  void validate() const;

  /// Sets the directory for checkpoints (empty: none).
  void set_checkpoint_directory(std::string directory);

  const std::string& checkpoint_directory() const noexcept {
    return checkpoint_dir_;
  }

  /// Freezes the graph, sets every stream's zero time and the default
  /// checkpoint intervals. `started` is when the context started (default:
  /// `zero`): files modified up to then are not new to `text_file_stream`.
  void start(time zero, std::optional<time> started = std::nullopt);

  /// Marks the graph as stopped: it can no longer grow.
  void stop() noexcept;

  /// Tells every input that no batch is generated any more
  /// (`input_node_base::interrupt`); from any thread, while a batch may be
  /// generated.
  void interrupt_inputs() noexcept;

  /// Drops the streams, inputs, outputs and state operators once the
  /// context that ran the graph is gone. Their functions may hold handles
  /// of this graph's streams (an output that calls `slice`), which would
  /// keep the graph, and all it remembers, alive for good. A handle held
  /// elsewhere keeps its own stream and the graph.
  void release() noexcept;

  /// The time before the first batch.
  time zero_time() const noexcept {
    return zero_;
  }

  /// When the context started (the zero time after recovery).
  time start_time() const noexcept {
    return started_;
  }

  /// Fixes the data of every input without a receiver for batch `t`: what
  /// the batch's job set carries, by input index.
  std::map<uint32_t, generated_input> generate_inputs(time t);

  /// Gives the inputs without a receiver what `generate_inputs` fixed for
  /// batch `t`: the batch's runner does, from its job set.
  void bind_generated(time t, std::map<uint32_t, generated_input> xs);

  /// The jobs of batch `t`, in the order the outputs were registered.
  std::vector<job> generate_jobs(time t);

  /// Gives the receiver streams the blocks of batch `t`, by stream id: the
  /// batch's runner does, from its job set (and recovery, for the batches
  /// that windows reach back over). A stream without blocks gets none.
  void bind_received(time t, std::map<int32_t, std::vector<block>> blocks);

  /// Runs job `j`: computes its output's RDD and runs the output operation
  /// (on the job executor's thread).
  void run_job(const job& j);

  /// Forgets RDDs that batch `t` no longer needs.
  void clear_metadata(time t);

  // -- stages on worker nodes -------------------------------------------------

  /// Where a node of a batch's lineage is, the same in every process of the
  /// program: the stream (by its index among the graph's streams) whose
  /// portable lineage (`dstream_node_base::portable_lineage`) holds it, and
  /// its path there.
  struct stage_location {
    uint32_t stream = 0;
    lineage_path path;
  };

  /// Locates `node`, a node of a stream's portable lineage of batch `t`;
  /// none if no such lineage holds it.
  std::optional<stage_location> locate(time t,
                                       const rdd_node_base& node) const;

  /// On a worker node: runs map tasks `tasks` of the shuffle at `where` in
  /// the lineage of batch `batch` (whose inputs it carries) of a driver
  /// whose zero time is `zero`, on `runner` (the node's task slots), and
  /// returns each task's buckets as bytes (`rdd_node_base::run_map_tasks`).
  /// A stage that reads other shuffles' partitions gets those its tasks
  /// read as `reduced` (`map_tasks_read_reduced`; their map stages do not
  /// run here). Throws `stream_error` if the graph has no such stage.
  std::vector<std::string>
  run_map_tasks(time zero, job_set batch, const stage_location& where,
                const std::vector<uint32_t>& tasks,
                const std::vector<reduced_input>& reduced,
                task_runner& runner);

  /// On a worker node: computes partitions `partitions` of the RDD at
  /// `where` (as `run_map_tasks` names it) for a result stage of the
  /// driver, and returns each one's records, or their number, as bytes
  /// (`rdd_node_base::run_result_tasks` with `form`). Throws
  /// `stream_error` if the graph has no such RDD or its partitions are not
  /// computed here (`result_tasks_portable`).
  std::vector<std::string> run_result_tasks(time zero, job_set batch,
                                            const stage_location& where,
                                            const std::vector<uint32_t>& tasks,
                                            task_runner& runner,
                                            result_form form);

  /// On a worker node: runs reduce tasks `partitions` of the shuffle at
  /// `where` (as `run_map_tasks` names it; `batch` need not carry records)
  /// from `buckets[k]`, bucket `partitions[k]` of each of its map tasks as
  /// bytes, and returns each partition's records as bytes
  /// (`rdd_node_base::run_reduce_tasks`). Throws `stream_error` if the
  /// graph has no such stage.
  std::vector<std::string>
  run_reduce_tasks(time zero, job_set batch, const stage_location& where,
                   const std::vector<uint32_t>& partitions,
                   const std::vector<std::vector<std::string>>& buckets,
                   task_runner& runner);

  // -- checkpoints ------------------------------------------------------------

  /// Describes the graph's inputs and state streams; a checkpoint restores
  /// only into a graph with the same description.
  std::string fingerprint() const;

  /// Whether batch `t` is due for a data checkpoint (some state stream's
  /// checkpoint interval divides `t - zero`).
  bool data_checkpoint_due(time t) const;

  /// The checkpoint after batch `t`, with the streams' state if
  /// `with_data`; `pending` are the batches generated but not completed.
  checkpoint_record make_checkpoint(time t, const std::vector<time>& pending,
                                    bool with_data);

  /// Starts the graph at `cp`'s zero time and restores the streams' state
  /// and the inputs' positions; throws `stream_error` if `cp` belongs to
  /// another graph. Returns the first batch to run: the one after the
  /// state's (batches since then run again, with the same input files).
  time restore(const recovered_checkpoint& cp);

  /// Whether `restore` started this graph: the batches it runs again may
  /// have run before the crash, their output written (a database sink finds
  /// them in its progress row).
  bool restored() const noexcept {
    return restored_;
  }

  /// The first and last batch that a recovery from `cp` runs again although
  /// receivers had received data for them before the crash: that data was
  /// in memory and is lost, so these batches run without it. None if the
  /// graph has no receiver stream or no such batch runs again.
  std::optional<std::pair<time, time>>
  batches_without_received_data(const recovered_checkpoint& cp) const;

  /// How long the receiver streams keep a batch's blocks after it (the
  /// longest window over them reaches back this far).
  duration received_blocks_kept_for() const;

  const std::vector<std::shared_ptr<receiver_input_base>>&
  receiver_inputs() const noexcept {
    return receiver_inputs_;
  }

  const std::vector<std::shared_ptr<rate_controlled_input>>&
  rate_controlled_inputs() const noexcept {
    return rate_controlled_inputs_;
  }

  /// The id of the next receiver or rate-controlled stream (the same in
  /// every run of the same program).
  int32_t next_stream_id() const noexcept {
    return static_cast<int32_t>(receiver_inputs_.size()
                                + rate_controlled_inputs_.size());
  }

private:
  /// The node at `where` in this graph's lineage of batch `t`, computed from
  /// the batch's inputs (`bind_received`, `bind_generated`) if it was not
  /// yet; throws `stream_error` if the graph has no such lineage or node.
  std::shared_ptr<const rdd_node_base> resolve(time t,
                                               const stage_location& where);

  /// The shuffle at `where` in the lineage of `batch`, for a stage of a
  /// driver whose zero time is `zero` (`run_map_tasks`), or with `result`
  /// the RDD whose partitions a result stage computes in that form
  /// (`run_result_tasks`); throws `stream_error` unless that stage runs on
  /// worker nodes.
  std::shared_ptr<const rdd_node_base>
  stage_at(time zero, job_set batch, const stage_location& where,
           std::optional<result_form> result = std::nullopt);

  void check_open(const char* what) const;

  // Starts the streams at `zero` (`start` without its checks).
  void begin(time zero, time started);

  enum class state { initialized, started, stopped };

  duration batch_interval_;
  std::atomic<size_t> default_parallelism_;
  rdd_context_ptr context_;
  size_t sink_max_retries_ = 3;
  // The database sinks' progress rows and their sinks.
  std::map<std::string, std::string> progress_rows_;
  std::optional<duration> remember_;
  state state_ = state::initialized;
  std::string checkpoint_dir_;
  time zero_;
  time started_;
  std::optional<time> last_data_time_;
  bool restored_ = false;
  std::vector<std::shared_ptr<dstream_node_base>> nodes_;
  std::vector<std::shared_ptr<input_node_base>> inputs_;
  std::vector<std::shared_ptr<receiver_input_base>> receiver_inputs_;
  std::vector<std::shared_ptr<rate_controlled_input>> rate_controlled_inputs_;
  std::vector<std::shared_ptr<output_node_base>> outputs_;
  std::vector<std::shared_ptr<state_operator>> state_operators_;
};

/// The partitions of a by-key operation: the count it names, or else the
/// graph's default parallelism when it is asked, i.e. when a batch's
/// lineage is built (so that a worker node's copy of the graph partitions
/// as its driver's does).
class partition_count {
public:
  partition_count(const dstream_graph& graph, size_t requested) noexcept
    : graph_(&graph), requested_(requested) {
    // nop
  }

  size_t operator()() const noexcept {
    return requested_ != 0 ? requested_ : graph_->default_parallelism();
  }

private:
  const dstream_graph* graph_;
  size_t requested_;
};

} // namespace caf_stream::detail
