#pragma once

#include <cstdint>
#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/scheduler/pid_rate_estimator.hpp"

namespace caf_stream::detail {

class rate_controlled_input;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Rate controller of one receiver stream (Spark's RateController, for
/// backpressure): estimates the rate the pipeline keeps up with from each
/// completed batch and sends it to the stream's receiver supervisor (as
/// Spark's controller goes through the ReceiverTracker to the supervisor),
/// or, for a stream without a receiver, to its rate target.
/// - `(batch_done_atom, time ms, records, processing ms, scheduling ms)`:
///   feeds the PID estimator; a new estimate goes out as `(rate_atom, rate)`;
/// - `batch_waiting_atom`: a batch was generated while an earlier one had not
///   completed. Before the first estimate, and unless the stream started at
///   an initial rate, the stream gets the estimator's minimum rate until the
///   first estimate arrives.
caf::actor spawn_rate_controller(caf::actor_system& sys, int32_t stream_id,
                                 caf::actor receiver,
                                 pid_rate_estimator estimator,
                                 bool initial_rate_set);

/// Rate target of a stream without a receiver (the direct Kafka stream:
/// Spark's DirectKafkaRateController): applies its rate controller's
/// estimates to the input.
/// - `(rate_atom, double)`: `input->update_rate(rate)`.
caf::actor
spawn_rate_target(caf::actor_system& sys,
                  std::shared_ptr<detail::rate_controlled_input> input);

} // namespace caf_stream::actors
