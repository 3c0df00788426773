#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"

namespace caf_stream {

class task_assignment;

} // namespace caf_stream

namespace caf_stream::actors {

/// A stage sent to a worker node and not done yet: a map stage until its
/// buckets were fetched, or reduced on the nodes (`held`: it answered, its
/// buckets wait there; `spans`: each bucket's offset and size, by task); a
/// reduce stage (`reduce`) until its records were fetched. `node`: the
/// node's index in the stage's list of nodes; `actor`: the node actor it
/// went to, or whose task host it went to (`via`, the host known from an
/// earlier answer); `host`: the node's task host, which holds the outputs
/// (of `sizes` bytes), once it answered. `late`: given up on as late
/// (`speculation`), its tasks run again elsewhere and it is not waited
/// for, but its answer is taken if it comes first.
struct sent_stage {
  sent_stage(size_t node, caf::actor_addr actor, std::vector<uint32_t> tasks,
             bool reduce = false)
    : node(node),
      actor(std::move(actor)),
      tasks(std::move(tasks)),
      reduce(reduce) {
    // nop
  }

  size_t node;
  caf::actor_addr actor;
  caf::actor_addr via;
  std::vector<uint32_t> tasks;
  caf::actor host;
  bool reduce = false;
  bool held = false;
  bool late = false;
  std::vector<uint64_t> sizes;
  std::vector<uint64_t> spans;
};

/// The stages of one stage run that `node_map_stages` sent to worker nodes
/// and is not done with, by message id, and what becomes of them when a
/// node fails, is late or answers first, or the reduce tasks on the nodes
/// fail. Bookkeeping only: the caller sends what the stages taken out need
/// (their outputs' release, fetches).
class sent_stage_table {
public:
  using stage_map = std::map<uint64_t, sent_stage>;
  using taken = std::vector<std::pair<uint64_t, sent_stage>>;

  void add(uint64_t id, sent_stage x) {
    stages_.emplace(id, std::move(x));
  }

  /// The stage `id`, or null if it is done.
  sent_stage* find(uint64_t id) {
    auto i = stages_.find(id);
    return i != stages_.end() ? &i->second : nullptr;
  }

  /// Takes stage `id` out: none if it is done already.
  std::optional<sent_stage> take(uint64_t id);

  /// Takes every stage out.
  taken take_all();

  const stage_map& stages() const noexcept {
    return stages_;
  }

  bool empty() const noexcept {
    return stages_.empty();
  }

  /// Whether a stage is waited for: one that neither holds its buckets for
  /// the reduce tasks nor was given up on as late.
  bool waiting() const;

  /// The stages waited for (see `waiting`).
  std::vector<uint64_t> unanswered() const;

  /// The stages sent to the node actor `actor`, or to its task host
  /// `actor` (`via`), or answered by the task host `actor`, which holds
  /// their outputs (`host`).
  std::vector<uint64_t> sent_to(const caf::actor_addr& actor) const;

  /// Takes the map stages of node `node` that hold buckets out: their tasks
  /// run elsewhere now, and the buckets are not needed.
  taken take_held(size_t node);

  /// The reduce tasks on the nodes failed: takes the reduce stages out, and
  /// the map stages that held their buckets there hold them no more (their
  /// ids and bucket sizes are returned, for the driver to fetch).
  std::pair<taken, std::vector<std::pair<uint64_t, std::vector<uint64_t>>>>
  reduce_failed();

  /// Node `node`'s answer is late: its map stages that did not answer
  /// become late (their ids returned), and those that hold buckets are
  /// taken out (returned, for the release of their outputs), since the
  /// node's tasks run elsewhere as copies (`task_assignment::node_late`).
  std::pair<std::vector<uint64_t>, taken> mark_late(size_t node);

  /// Late stage `id` answered: it is late no more, and the copies that run
  /// its tasks alone are taken out (their ids returned: their answers are
  /// released as they come); none, and nothing changes, if `tasks` has one
  /// of its tasks finished or another answer covers one (it comes second).
  std::optional<std::vector<uint64_t>>
  answered_first(uint64_t id, const task_assignment& tasks);

private:
  stage_map stages_;
};

} // namespace caf_stream::actors
