#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

class runtime_state;
class stage_table;

/// Job scheduler (Spark's JobScheduler), event-based: hands the batches to
/// its job executor (spawned with it, from the same arguments), which runs
/// them one at a time in order, and reports each completed batch to the
/// listener bus (`listener_event`s), the rate controllers (by receiver
/// stream id) and the runtime state.
/// - `job_set` -> `time`: answers the batch's time once it completed (or
///   was skipped while stopping);
/// - `(stop_atom, graceful)`: ends with its executor once the batch that
///   runs completed and the others were skipped; when `graceful`, the
///   executor first writes a checkpoint with the state.
caf::actor spawn_job_scheduler(caf::actor_system& sys,
                               std::vector<caf::actor> workers,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<clock> clk,
                               std::shared_ptr<runtime_state> state,
                               caf::actor listener_bus,
                               caf::actor checkpoint_writer,
                               std::map<int32_t, caf::actor> rate_controllers,
                               stream_options opts,
                               std::shared_ptr<stage_table> stages = nullptr,
                               caf::actor nodes = {});

} // namespace caf_stream::actors
