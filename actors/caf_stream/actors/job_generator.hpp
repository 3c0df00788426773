#pragma once

#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

class runtime_state;

/// Job generator (Spark's JobGenerator): cuts a batch at every point of the
/// batch grid.
/// - `(tick_batch_atom, time)`: allocates received blocks to the batch,
///   fixes the inputs, generates the jobs, tells the listener bus
///   (batch submitted), sends the `job_set` to the scheduler and arms the
///   timer for the next batch. Batches whose time passed already (recovery)
///   are cut at once, one after the other. When
///   the batch has to wait for an earlier one (the scheduler has not
///   answered an earlier `job_set` yet), tells the rate controllers
///   (`batch_waiting_atom`).
caf::actor spawn_job_generator(caf::actor_system& sys,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<clock> clk, caf::actor tracker,
                               caf::actor scheduler, caf::actor listener_bus,
                               std::vector<caf::actor> rate_controllers,
                               std::shared_ptr<runtime_state> state,
                               time first_batch);

} // namespace caf_stream::actors
