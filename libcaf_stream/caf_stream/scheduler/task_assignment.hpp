#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace caf_stream {

/// Where the tasks of one stage run when they go to worker nodes, and where
/// a task goes again when its node fails (a small part of Spark's
/// TaskSetManager). The tasks start spread over the nodes in proportion to
/// their task slots (round-robin, weighted and interleaved), or on a node
/// that keeps their input (`prefer`, `balance`). The unfinished tasks of
/// a node that fails go to the next node that has not failed, or to the
/// driver once every node failed; those of a late node go there as copies
/// (`node_late`). A task fails the stage once it failed `max_failures`
/// times (`stream.task.max-failures`).
class task_assignment {
public:
  /// `num_nodes` may be 0: every task then runs on the driver.
  task_assignment(size_t num_tasks, size_t num_nodes, size_t max_failures);

  /// Node `k` has `slots[k]` task slots (0 counts as 1); `slots` may be
  /// empty: every task then runs on the driver.
  task_assignment(size_t num_tasks, const std::vector<size_t>& slots,
                  size_t max_failures);

  /// Task `task` runs on node `node`, which keeps its input (Spark's
  /// preferred location), unless it was sent, finished, or the node failed.
  void prefer(uint32_t task, size_t node);

  /// Task `task`'s input is kept on `nodes`, in order (a block's node, then
  /// the node of its copy): it runs on the first that has not failed,
  /// unless `balance` moves it to another of them. As `prefer(task, node)`
  /// otherwise.
  void prefer(uint32_t task, const std::vector<size_t>& nodes);

  /// Evens out the nodes' loads (their unsent tasks over their task slots)
  /// where tasks' inputs are kept on more than one node: a task moves to
  /// another node that keeps its input while that node's load, with the
  /// task, stays below its own node's. Where two receivers store at
  /// different rates, the node of the faster one would otherwise get most
  /// of each batch's tasks while the other waits; a block's copy
  /// (`stream.receiver.replication` 2) makes the move cost no fetch.
  void balance();

  /// The rounds `count` tasks take on node `node`'s task slots (rounded
  /// up): how long a send of them may take, in tasks (`speculation`).
  size_t rounds(size_t node, size_t count) const;

  /// The tasks of node `node` that were not sent to it yet, in order; marks
  /// them as sent.
  std::vector<uint32_t> take_unsent(size_t node);

  /// The next round of node `node`'s unsent tasks (at most its task
  /// slots), in order; marks them as sent. A node that gets a stage's tasks
  /// round by round starts on the first round while the input of the next
  /// is made.
  std::vector<uint32_t> take_round(size_t node);

  /// Node `node`, which has no unsent tasks left, takes a round (at most
  /// its task slots) of another node's: from the node with the most unsent
  /// tasks over its task slots, its last ones, of those whose input no
  /// node keeps or `node` does; marks them as sent. None if `node` failed
  /// or no task can move. As Spark offers a task to the slot that frees
  /// up first, a node that runs its tasks faster gets more of them.
  std::vector<uint32_t> steal_round(size_t node);

  /// The tasks for the driver that were not taken yet; marks them as taken.
  std::vector<uint32_t> take_for_driver();

  /// Task `task` finished.
  void finished(uint32_t task);

  /// Node `node` failed with `why`: its unfinished tasks go elsewhere.
  /// Throws `stream_error` (errc::job_failure) naming the task, `why` and
  /// the count when a task thereby failed `max_failures` times.
  void node_failed(size_t node, const std::string& why);

  /// Node `node`'s answer is late (`speculation`): its unfinished tasks go
  /// elsewhere as node_failed's do, but as copies, which count as no
  /// failure (Spark's speculative tasks); the node's answer still counts if
  /// it comes first (`answered_by`). It gets no more of the stage's tasks.
  void node_late(size_t node);

  /// Node `node` answered `tasks` first, although it was late and they went
  /// elsewhere: they are its again, so that a failure of the node of their
  /// copies does not move them.
  void answered_by(size_t node, const std::vector<uint32_t>& tasks);

  /// Whether task `task` finished.
  bool is_finished(uint32_t task) const {
    return tasks_.at(task).finished;
  }

  /// Whether every task finished.
  bool done() const noexcept {
    return finished_ == tasks_.size();
  }

  /// The number of nodes that failed in this stage.
  size_t failed_nodes() const noexcept;

private:
  // Where a task runs: a node's index, or `driver`.
  static constexpr size_t driver = static_cast<size_t>(-1);

  struct task {
    size_t where = driver;
    bool sent = false;
    bool finished = false;
    size_t failures = 0;
    // The nodes that keep its input and had not failed when preferred.
    std::vector<size_t> keepers;
  };

  size_t next_node(size_t after) const;

  // Takes at most `at_most` of node `node`'s unsent tasks, in order.
  std::vector<uint32_t> take(size_t node, size_t at_most);

  // Moves node `node`'s unfinished tasks to the next node; counts a
  // failure of each unless `why` is null.
  void move_from(size_t node, const std::string* why);

  std::vector<task> tasks_;
  // The nodes' task slots, each at least 1.
  std::vector<size_t> slots_;
  std::vector<bool> failed_;
  size_t max_failures_;
  size_t finished_ = 0;
};

} // namespace caf_stream
