#pragma once

#include <algorithm>
#include <chrono>

#include "caf/actor_cast.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/weak_intrusive_ptr.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/testing/manual_clock.hpp"

namespace caf_stream::actors {

/// Sends `xs...` to `self` when `clk` reaches `at`: through the manual
/// clock's timers under a `testing::manual_clock`, through CAF's otherwise.
/// The manual clock holds only a weak reference, so a dead actor's timer
/// fires into nothing.
template <class... Ts>
void send_at(caf::event_based_actor* self, clock& clk, time at, Ts... xs) {
  if (auto* manual = dynamic_cast<testing::manual_clock*>(&clk)) {
    caf::weak_actor_ptr weak{self->ctrl()};
    manual->schedule(at, [weak, xs...] {
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), xs...);
    });
    return;
  }
  auto delay = std::max(at - clk.now(), duration{0});
  self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(delay),
                     xs...);
}

/// Returns whether `clk` is driven by a test rather than by time passing.
inline bool is_manual(const clock& clk) {
  return dynamic_cast<const testing::manual_clock*>(&clk) != nullptr;
}

} // namespace caf_stream::actors
