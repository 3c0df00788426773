#pragma once

#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/duration.hpp"

namespace caf_stream {

class state_operator;

} // namespace caf_stream

namespace caf_stream::actors {

/// State holder: owns one partition of one state stream's state
/// (`update_state_by_key`, `map_with_state`, `reduce_by_key_and_window`
/// with an inverse function), made by `op`, and is the only
/// one to touch it. Spawned by the stream's router when the stream first
/// runs, on this node or by a state node; quits when `driver` (the router)
/// goes down.
/// - `(state_atom, uint8_t state_call, time, block)` -> `(block, int64_t)`:
///   runs the operator's call on the partition and answers its output and
///   the keys the partition holds now; a failure (a user function threw,
///   undecodable records) comes back as an error with the message. An
///   update for the batch it applied last gives that batch's output (or
///   error) again and leaves the state alone.
caf::actor spawn_state_holder(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              caf::actor driver);

/// Holder proxy: stands in on the driver for `holder`, a holder on a state
/// node. Passes the calls on (bounded by `timeout`); when the holder goes
/// down (its node died, the connection broke), fails the calls in flight at
/// once with `sec::request_receiver_down` instead of letting them wait for
/// the timeout, and quits with the holder's reason. When the proxy quits,
/// so does the holder.
/// - `(state_atom, uint8_t state_call, time, block)` -> `(block, int64_t)`:
///   the holder's answer, or an error.
caf::actor spawn_holder_proxy(caf::actor_system& sys, caf::actor holder,
                              duration timeout);

} // namespace caf_stream::actors
