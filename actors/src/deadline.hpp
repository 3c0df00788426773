#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "caf/atom.hpp"

namespace caf_stream::actors {

/// The wake-up a blocking actor sends itself for a `deadline`.
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

/// The end of a blocking actor's wait in a receive loop, in place of
/// `caf::after`. CAF 0.17.6 starts a blocking receive's `after` anew
/// whenever the timeout of an earlier request of the same actor arrives,
/// although that request was answered (the receive drops the stale error
/// and waits again): an actor that made requests can wait much longer than
/// it asked, and one that makes them often may never time out
/// (`tests/actors/deadline_test.cpp`). A deadline is a message instead:
/// before each receive, `arm(now, wait)` says when the wait ends and names
/// the wake-up to send (`(deadline_atom, id)` after `wait`) unless one
/// comes in time already; the receive's handler of a wake-up asks
/// `passed(id, now)`. One wake-up at most is sent per deadline that moves
/// nearer, so a loop that receives many messages sends few.
class deadline {
public:
  using clock = std::chrono::steady_clock;

  /// The wait ends at `now + wait`; returns the id of a wake-up to send
  /// after `wait`, none if one that was sent comes by then. A wake-up that
  /// is overdue counts as lost (another receive of the actor may have
  /// taken it).
  std::optional<uint64_t> arm(clock::time_point now, clock::duration wait) {
    due_ = now + wait;
    if (armed_ && armed_at_ <= due_ && armed_at_ >= now)
      return std::nullopt;
    armed_ = ++last_id_;
    armed_at_ = due_;
    return armed_;
  }

  /// What is left at `now` of a wait of `bound` that began at `since`
  /// (zero once it is over), in `bound`'s unit.
  template <class Duration>
  static Duration left(clock::time_point since, clock::time_point now,
                       Duration bound) {
    auto gone = std::chrono::duration_cast<Duration>(now - since);
    return gone < bound ? bound - gone : Duration{0};
  }

  /// Wake-up `id` came at `now`: whether the wait ended. A wake-up of an
  /// earlier wait may come too; it ends the wait if that is over as well.
  bool passed(uint64_t id, clock::time_point now) {
    if (armed_ && id == *armed_)
      armed_.reset();
    return now >= due_;
  }

private:
  clock::time_point due_;
  // The last wake-up sent that has not come yet, and when it comes.
  std::optional<uint64_t> armed_;
  clock::time_point armed_at_;
  uint64_t last_id_ = 0;
};

} // namespace caf_stream::actors
