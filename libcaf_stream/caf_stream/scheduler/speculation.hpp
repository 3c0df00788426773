#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace caf_stream {

/// Which worker nodes' answers to a stage's map tasks are late (Spark's
/// speculative execution, `spark.speculation`, by sends rather than by
/// tasks): once at least as many sends of the stage were answered as are
/// still waited for, a send unanswered for longer than `multiplier` times
/// the median time the answered ones took per round of tasks, times its
/// own rounds, and at least `min_wait`, is late, and its tasks run again
/// elsewhere. A send's rounds are its tasks over its node's task slots, so
/// a node that got more tasks (it keeps more of the blocks they read) is
/// not late for that alone, as Spark compares each task with the median
/// task. A frozen node is thereby noticed long before its connection times
/// out. The caller passes the time, so that tests need no clock.
class speculation {
public:
  using clock = std::chrono::steady_clock;

  speculation(double multiplier, clock::duration min_wait)
    : multiplier_(multiplier), min_wait_(min_wait) {
    // nop
  }

  /// Send `id` went out at `now`, with `rounds` rounds of tasks (its tasks
  /// over the task slots of its node, rounded up).
  void sent(uint64_t id, clock::time_point now, size_t rounds = 1);

  /// Send `id` was answered at `now`.
  void answered(uint64_t id, clock::time_point now);

  /// Send `id` failed or was given up: it is waited for no more.
  void dropped(uint64_t id);

  /// The sends that are late at `now`, oldest first.
  std::vector<uint64_t> late(clock::time_point now) const;

  /// How long from `now` until the next send is late; none while no send
  /// can be (too few answers, or nothing waited for).
  std::optional<clock::duration> until_late(clock::time_point now) const;

private:
  struct waiting {
    clock::time_point since;
    size_t rounds;
  };

  // How long a round of tasks may take before its send is late; none
  // while too few sends were answered.
  std::optional<clock::duration> round_bound() const;

  // When send `x` is late, after `per_round` per round.
  clock::time_point due(const waiting& x, clock::duration per_round) const;

  double multiplier_;
  clock::duration min_wait_;
  // The sends waited for, by id.
  std::map<uint64_t, waiting> waiting_;
  // How long the answered sends took per round of tasks.
  std::vector<clock::duration> took_;
};

} // namespace caf_stream
