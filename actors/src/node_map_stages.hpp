#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/scheduler/job.hpp"
#include "caf_stream/scheduler/node_exclusion.hpp"

#include "deadline.hpp"
#include "node_watch.hpp"
#include "sent_stage_table.hpp"
#include "stage_inputs.hpp"

namespace spdlog {

class logger;

} // namespace spdlog

namespace caf_stream::detail {

class dstream_graph;
class rdd_node_base;

} // namespace caf_stream::detail

namespace caf_stream {

class executor_table;
class task_assignment;

} // namespace caf_stream

namespace caf_stream::actors {

/// The job executor's side of map stages on worker nodes
/// (`stream.task.placement = workers`): sends a portable stream's map tasks
/// to the worker nodes by name (`map_stage`), with the batch's inputs,
/// then the reduce tasks to the nodes that hold the buckets
/// (`reduce_stage`), which fetch them from each other, and fetches the
/// reduced partitions into the shuffle; where the reduce tasks cannot run
/// on the nodes (records without serialization, a failure there), it
/// fetches the buckets. It also runs result stages there: the partitions
/// of an RDD computed from blocks the nodes keep, for an action on this
/// node (`result_tasks_atom`). Reduced partitions and result stages'
/// records that fit in one fetch chunk come with the node's answer (Spark's
/// direct task results); other fetches go in chunks (`fetch_plan`,
/// `stream.shuffle.*`). It runs again elsewhere the
/// tasks of a node that fails (`task_assignment`), is lost, or whose answer
/// is late (`speculation`, `stream.speculation.*`), which then gets no
/// tasks for a while (`node_exclusion`). The nodes it reaches go to
/// `watch`, and the tasks they run to `executors`. Used on the executor's
/// thread only.
class node_map_stages {
public:
  /// `directory`: the node directory (null: the nodes are `stream.nodes`).
  node_map_stages(caf::blocking_actor* self,
                  const detail::dstream_graph& graph,
                  const stream_options& opts, const caf::actor& directory,
                  executor_table& executors, node_watch& watch);

  ~node_map_stages();

  /// The batch whose stages run next: its inputs go along with them.
  void set_batch(const job_set& js);

  /// Runs the `n` map tasks of `shuffle` on the worker nodes, and those
  /// that every node failed with `here(tasks)`; returns false, and runs
  /// nothing, if the stage runs on this node only (no worker node, a
  /// stream that is not portable, records that do not serialize). Throws
  /// `stream_error` when a task failed `stream.task.max-failures` times.
  bool run(const detail::rdd_node_base& shuffle, size_t n,
           detail::function_ref<void(const std::vector<uint32_t>&)> here);

  /// Computes partitions `partitions` of `node` for an action on the
  /// worker nodes that keep their input (`result_tasks_run_where_kept`: a
  /// result stage whose tasks go where their blocks are), and those that
  /// every node failed with `here(failed)`, which returns their records
  /// (or their number: `form`) as bytes; returns each partition's records
  /// (or their number) as bytes, in the order of `partitions`, or nothing,
  /// and runs nothing, if the action computes them on this node (no worker
  /// node, an input on this node, records that do not serialize). Throws
  /// `stream_error` when a task failed `stream.task.max-failures` times.
  std::optional<std::vector<std::string>> run_result_stage(
    const detail::rdd_node_base& node, const std::vector<uint32_t>& partitions,
    result_form form,
    detail::function_ref<std::vector<std::string>(const std::vector<uint32_t>&)>
      here);

  /// Takes a node's answer to map stage `id` that came after its stage was
  /// done with it (from the node's task host `host`, which may drop the
  /// outputs now). A node given up on as late (`stream.speculation`) that
  /// answers after all is slow, not frozen: it gets tasks again at once
  /// rather than resting as a failed node.
  void late_answer(uint64_t id, const caf::actor& host);

  /// The actor of the worker node at `address`, reached (and monitored)
  /// from this process once, for a block that names `named` there (as
  /// another node knows it); reached again if the actor this process has
  /// was lost and `named` is another one (the node kept the block since:
  /// a new process on the address, or the lost one connected again). Null
  /// if it cannot be reached.
  caf::actor node_at(const std::string& address, const caf::actor& named);

private:
  // Takes a node's outputs for tasks `tasks` and marks them finished in the
  // assignment, or returns why they are unusable.
  using outputs_taker = detail::function_ref<std::string(
    const std::vector<uint32_t>& tasks, std::vector<std::string>& outputs,
    task_assignment& assignment)>;

  // Runs the `n` tasks of a stage of `target` on the worker nodes: a map
  // stage (`result` none: the shuffle's buckets, and the reduce tasks too
  // where they run there), or a result stage that answers each partition's
  // records or their number (`result`), and those
  // that every node failed with `here(tasks)`; `take` takes a node's
  // outputs. Task `i` computes
  // partition `i`, or `(*partitions)[i]` (the nodes see partition ids;
  // `here` and `take` get task numbers). Returns false, and runs nothing,
  // if no worker node is there or `target` is in no portable lineage.
  bool run_stage(
    const detail::rdd_node_base& target, size_t n,
    std::optional<result_form> result,
    detail::function_ref<void(const std::vector<uint32_t>&)> here,
    outputs_taker take, const std::vector<uint32_t>* partitions = nullptr);

  // One run of `run_stage` (`node_stage_run.hpp`).
  class stage_run;

  // The partitions that tasks `tasks` compute: `(*partitions)[i]` for task
  // `i`, or `i` itself without `partitions`.
  static std::vector<uint32_t>
  partitions_of(const std::vector<uint32_t>& tasks,
                const std::vector<uint32_t>* partitions);

  // Tasks `tasks` of the stage at `where` with the batch's `inputs`, as a
  // node runs them: in this driver's graph, program, zero time and default
  // parallelism.
  map_stage stage_of(const detail::dstream_graph::stage_location& where,
                     std::vector<uint32_t> tasks, job_set inputs) const;

  // The other shuffles' partitions that map tasks `tasks` of `shuffle`
  // read (`detail::map_tasks_read_reduced` holds), made here for a worker
  // node; none for the tasks that read an input's.
  static std::vector<detail::reduced_input>
  reduced_inputs(const detail::rdd_node_base& shuffle,
                 const std::vector<uint32_t>& tasks);

  // The bytes of records in `xs`.
  static size_t bytes_of(const std::vector<detail::reduced_input>& xs);

  // The reduce stages of `shuffle` at `where` (`num_maps` map tasks) for
  // the nodes that hold the buckets of map stages `held` (by id), by node
  // (an index into `addresses`): the partitions in proportion to their task
  // slots, each with where its buckets are. None if `held` does not cover
  // every map task.
  std::map<size_t, reduce_stage>
  reduce_stages(const detail::rdd_node_base& shuffle,
                const detail::dstream_graph::stage_location& where,
                size_t num_maps, const std::vector<std::string>& addresses,
                const sent_stage_table::stage_map& held);
  // The node actor at `address`, reached (and monitored) once.
  caf::expected<caf::actor> reach(const std::string& address);

  // The task slots of the nodes at `addresses`, as they answered when
  // reached (one until then): their shares of a stage's tasks.
  std::vector<size_t> slots_of(const std::vector<std::string>& addresses) const;

  // Map stage `id`, sent to the node at `address`, was given up on as
  // late.
  void given_up(uint64_t id, const std::string& address);

  // Forgets a node actor that went down, or a task host: the next stage
  // reaches its node again, or goes to the node actor, which starts
  // another task host. Returns whether `actor` was a node actor.
  bool forget(const caf::actor_addr& actor);

  // Keeps `host`, the task host of the node at `address`, which answered a
  // stage (`hosts_`); monitors it once.
  void keep_host(const std::string& address, const caf::actor& host);

  // The task host of the node at `address` if it answered a stage
  // (`hosts_`), else null.
  const caf::actor* host_of(const std::string& address) const;

  // Why the buckets of `tasks` map tasks, whose places (offset and size)
  // are `spans`, do not fit `shuffle` (one bucket per reduce partition);
  // empty if they do.
  static std::string misfit(const detail::rdd_node_base& shuffle,
                            size_t tasks, size_t spans);

  // Gives `shuffle` the buckets a node answered for tasks `mine`; returns
  // why they are unusable, if they are.
  static std::string take(const detail::rdd_node_base& shuffle,
                          const std::vector<uint32_t>& mine,
                          const std::vector<std::string>& buckets,
                          task_assignment& tasks);

  caf::blocking_actor* self_;
  const detail::dstream_graph& graph_;
  const stream_options& opts_;
  const caf::actor& directory_;
  executor_table& executors_;
  std::string fingerprint_;
  std::string program_;
  // The batch's inputs, as its stages carry them.
  stage_inputs inputs_;
  // The node actors reached so far, by address, watched: a down message
  // is taken only while a stage waits for answers, and a fetch between
  // stages must not ask a lost actor when its node is back on its address
  // (`node_at`).
  std::map<std::string, caf::actor> nodes_;
  // The task host of each node reached, once it answered a stage: the next
  // stages go to it directly, one hop less on the node than through its
  // node actor (which checked the program on the first), and so do the
  // other nodes' fetches of its buckets (`reduce_stage::nodes`). Watched,
  // and forgotten when it goes down (a node's task host that ended by
  // itself) or when the node is reached again (it may be another
  // process).
  std::map<std::string, caf::actor> hosts_;
  node_watch& watch_;
  // Their task slots, as they answered when reached.
  std::map<std::string, size_t> slots_;
  // Nodes that failed map tasks get none for a while.
  node_exclusion excluded_;
  // The map stages given up on as late and their nodes' addresses, by id,
  // until they answer.
  std::map<uint64_t, std::string> given_up_;
  uint64_t next_id_ = 0;
  // The end of a stage's wait for answers (`caf::after` may wait longer).
  deadline deadline_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace caf_stream::actors
