#pragma once

#include <cstddef>
#include <memory>

#include "caf/fwd.hpp"

namespace caf_stream::actors {

class runtime_state;

/// Listener bus (Spark's StreamingListenerBus): takes the listener events of
/// the job generator and the job scheduler without ever making them wait,
/// keeps up to `capacity` events the listeners have not seen (a full queue
/// drops new events, with one warning), and has them delivered in order by
/// a detached runner it spawns and links, which calls the listeners of
/// `state` one event at a time (a listener that throws is logged and
/// skipped). A listener that blocks holds up the runner only.
/// - `listener_event`: queues the event, or drops it if the queue is full
///   (the generator and the scheduler send none while no listener was
///   added: each costs the bus and the runner a wake-up);
/// - `(next_event_atom)`: the runner is ready for an event (it says so at
///   start and after delivering each one); it gets the oldest queued event
///   now, or the next that comes;
/// - `(drain_atom)` -> `uint64_t`: answers, with the number of events
///   dropped so far, once every event queued before it has been delivered
///   (the runtime's stop).
caf::actor spawn_listener_bus(caf::actor_system& sys,
                              std::shared_ptr<runtime_state> state,
                              size_t capacity);

} // namespace caf_stream::actors
