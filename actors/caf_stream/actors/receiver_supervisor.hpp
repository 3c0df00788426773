#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/duration.hpp"

namespace caf_stream {

class receiver_base;

} // namespace caf_stream

namespace caf_stream::actors {

class runtime_state;

/// Receiver supervisor (Spark's ReceiverSupervisor), detached: runs one
/// receiver's `on_start`/`on_stop`, and tells `listener_bus` (while
/// `runtime` has listeners; always without `runtime`, on a worker node) what
/// happens to it as receiver events of the stream `name` running at
/// `location` ("driver", or a worker node's "host:port").
/// - `(start_atom)`: starts the receiver; if `on_start` throws, restarts it;
/// - `(restart_atom, message, delay ms)`: stops it, starts it after the delay
///   (negative: the configured restart delay);
/// - `(stop_atom, message)` -> `unit`: stops it for good;
/// - `(error_atom, message)`: logs a receiver's error report;
/// - `(rate_atom, double)`: holds the receiver's `store` calls to a rate
///   controller's rate (records per second) and tells the receiver
///   (`receiver_base::update_rate`);
/// - on exit: stops the receiver.
caf::actor spawn_receiver_supervisor(caf::actor_system& sys,
                                     std::shared_ptr<receiver_base> rcv,
                                     std::shared_ptr<clock> clk,
                                     duration restart_delay,
                                     int32_t stream_id, std::string name,
                                     std::string location,
                                     caf::actor listener_bus,
                                     std::shared_ptr<runtime_state> runtime);

} // namespace caf_stream::actors
