#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/scheduler/state_call.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

struct block;
class state_operator;

namespace detail {

class rdd_node_base;

} // namespace detail

/// What a result stage's tasks hand back for each partition: its records,
/// or how many there are (`rdd::count`, the one action whose function is
/// the runtime's own: caf-stream ships no user functions, so a node counts
/// for the driver rather than sending the records).
enum class result_form { records, count };

/// Runs the tasks of one stage (one task per partition) and returns when all
/// of them finished, rethrowing the first exception a task threw. The job
/// executor installs one that spreads tasks over the operator workers in its
/// graph's `rdd_context`; elsewhere tasks run inline on the calling thread.
class task_runner {
public:
  virtual ~task_runner();

  /// Calls `task(i)` for every `i` in `[0, n)`, possibly in parallel
  /// (`run_tasks`). While `task(i)` runs, `in_task()` holds on its thread.
  void run(size_t n, detail::function_ref<void(size_t)> task);

  /// Whether the calling thread runs a task of a stage: a transformation's
  /// function or `foreach_partition`'s, or a state stream's or a window's
  /// function at the state's holder, where Spark refuses RDD actions
  /// (SPARK-5063: only the driver runs jobs).
  static bool in_task() noexcept;

  /// Runs the `n` map tasks of `shuffle`'s map stage: `task(i)` here, once
  /// `shuffle.prepare_parents(*this)` ran, or `shuffle.run_map_tasks` on
  /// another node whose buckets come back to `shuffle.add_map_output`. Runs
  /// them here with `run` by default.
  virtual void run_map_stage(const detail::rdd_node_base& shuffle, size_t n,
                             detail::function_ref<void(size_t)> task);

  /// Partitions `partitions` of `node` for an action, computed where their
  /// input is (Spark's result stage on the executors): each one's records,
  /// or their number, as bytes (`rdd_node_base::run_result_tasks` with
  /// `form`), in order, from the worker nodes that keep the input
  /// (`result_tasks_run_where_kept`); nothing if the action computes them
  /// here, as by default.
  virtual std::optional<std::vector<std::string>>
  run_result_stage(const detail::rdd_node_base& node,
                   const std::vector<uint32_t>& partitions, result_form form);

  /// The records of `b`, which a worker node keeps (`b.remote()`), fetched
  /// from it: a block that holds them by pointer (the node's own) or as
  /// bytes. The runtime's runners fetch; elsewhere this throws
  /// `stream_error`, as it does when the node does not hand them out.
  virtual block fetch_block(const block& b);

  /// Runs `what` at the holders of `op`'s state, one actor per partition,
  /// each of which owns its partition: partition `i` gets `in[i]`. Returns
  /// their outputs in partition order. The runtime spawns the holders when
  /// the stream first calls, on this node or on the state nodes; elsewhere
  /// this throws `stream_error`.
  virtual std::vector<block> call_state(const state_operator& op,
                                        state_call what, time t,
                                        std::vector<block> in);

  /// The runner that runs every task at once on the calling thread.
  static task_runner& inline_runner() noexcept;

protected:
  /// Calls `task(i)` for every `i` in `[0, n)`, possibly in parallel, and
  /// returns when all of them finished.
  virtual void run_tasks(size_t n,
                         detail::function_ref<void(size_t)> task) = 0;
};

} // namespace caf_stream
