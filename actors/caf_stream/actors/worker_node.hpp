#pragma once

#include <memory>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Worker node: serves the state streams, the receivers and the map tasks
/// of `graph`
/// (built by the same program as the driver's, `program`: see
/// `program_id`) to drivers whose `stream.nodes` name it, with its own
/// clock `clk` and settings `opts` (`stream.receiver.*`). Published by
/// `streaming_context::serve`.
/// - `(spawn_holder_atom, graph fingerprint, program, state id, signature)`
///   -> `actor`: spawns a holder for that state stream (the holders go down
///   with the node); an error if the driver runs another program or graph;
/// - `(start_receiver_atom, graph fingerprint, program, stream id, tracker,
///   listener bus, replication, location)` -> `actor`: starts the receiver
///   of that receiver stream here (`start_receiver` at `location`, this
///   node's address as the driver names it, with the driver's
///   `stream.receiver.replication`) for the driver's `tracker` and
///   answers its supervisor, which the node stops when the driver goes
///   down (asked again by the same driver, it answers the same supervisor);
///   an error if the driver runs another program or graph, or if the
///   receiver runs here for another driver;
/// - `(map_tasks_atom, uint64_t id, map_stage)`: runs a shuffle's map tasks
///   here for the sender, a driver's job executor (its task host does,
///   which sends it `map_done_atom` or `map_failed_atom` with `id`); sends
///   `(map_failed_atom, id, why)` at once if the driver runs another
///   program or graph;
/// - `(stop_atom)` -> `void`: a graceful stop: takes no more work, stops
///   the receivers running here, hands the blocks they stored to their
///   drivers' trackers (5 s at most per step) and answers once their
///   supervisors are down.
caf::actor spawn_state_node(caf::actor_system& sys,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::string program, std::shared_ptr<clock> clk,
                            stream_options opts);

/// What a node checks, besides the graph, before it serves a driver:
/// "app " and `stream.app-id` if set, else "build " and the executable's
/// build id, so that a node refuses another program with the same graph.
std::string program_id(const stream_options& opts);

} // namespace caf_stream::actors
