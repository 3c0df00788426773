#pragma once

#include "caf/abstract_actor.hpp"
#include "caf/actor_cast.hpp"
#include "caf/send.hpp"
#include "caf/weak_intrusive_ptr.hpp"

#include "caf_stream/clock.hpp"

namespace caf_stream::actors {

/// Sends `xs...` to `self` when `clk` reaches `at`. The timer holds only a
/// weak reference, so a dead actor's timer fires into nothing and a timer
/// never keeps its actor alive.
template <class... Ts>
void send_at(caf::abstract_actor* self, clock& clk, time at, Ts... xs) {
  caf::weak_actor_ptr weak{self->ctrl()};
  clk.schedule(at, [weak, xs...] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), xs...);
  });
}

} // namespace caf_stream::actors
