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
///   listener bus, replication, state timeout in ms, keep blocks, location,
///   peers, peer nodes)` -> `actor`:
///   starts the receiver of that receiver stream here (`start_receiver` at
///   `location`, this node's address as the driver names it, with the
///   driver's `stream.receiver.replication` and `stream.state-timeout`,
///   which bound how long `store` waits for a copy and for the driver; with
///   `keep blocks`, the
///   driver's map tasks run on the nodes, its blocks stay here,
///   `kept_blocks`, and with replication 2 their copies go to one of
///   `peers`, the driver's other nodes, whose actors as the driver reached
///   them are `peer nodes`) for the driver's `tracker` and
///   answers its supervisor, which the node stops when the driver goes
///   down (asked again by the same driver, it answers the same supervisor);
///   an error if the driver runs another program or graph, if the
///   receiver runs here for another driver, or if its last run here was
///   told to stop and is not down yet (its `on_stop` may still run);
/// - `(map_tasks_atom, uint64_t id, map_stage)`: runs a shuffle's map tasks
///   here for the sender, a driver's job executor (its task host does,
///   which sends it `map_done_atom` or `map_failed_atom` with `id`); sends
///   `(map_failed_atom, id, why)` at once if the driver runs another
///   program or graph, and later if its task host went down meanwhile;
///   `(result_tasks_atom, uint64_t id, map_stage)`,
///   `(count_tasks_atom, uint64_t id, map_stage)` and
///   `(reduce_tasks_atom, uint64_t id, reduce_stage)` alike, for a result
///   stage's tasks, those that count records, and a shuffle's reduce tasks
///   (`spawn_task_host`; once its task host answered, the driver sends it
///   the next stages directly);
/// - `(slots_atom, fingerprint, program)` -> `size_t`: this node's task
///   slots (its resolved `stream.workers`), for the driver's share of a
///   stage's tasks; an error if the driver runs another program or graph,
///   or if the node stops;
/// - `(put_blocks_atom, tracker, block_list)` from a block generator here:
///   keeps the blocks (`block_store`) until the driver of `tracker` releases
///   them or goes down;
/// - `(copy_blocks_atom, fingerprint, program, tracker, block_list)` from
///   another node's replicator (`spawn_block_replicator`) of the same
///   program and graph (else it answers an error): keeps the copies of its
///   blocks,
///   with their records, until the driver of `tracker` releases them or
///   goes down; answers `(copy_blocks_atom, uint64_t id)`, the last block's
///   number;
/// - `(connect_back_atom, std::string address)` -> `connect_back_atom`:
///   connects this node to the worker node at `address` (over TLS if
///   `nodes_use_tls`), so that that node's messages to this one go
///   directly, not through the driver; answers once connected, or an
///   error. A replicator on a node whose address sorts after its peer's
///   asks for it: of two nodes only the one that sorts first connects
///   (CAF 0.17 breaks both connections of two nodes that connect to each
///   other at once);
/// - `(get_block_atom, uint64_t id)` from this process: answers
///   `(get_block_atom, id, block)`, the block kept with its records by
///   pointer, or `(no_block_atom, id, std::string why)`;
/// - `(fetch_block_atom, uint64_t id, uint64_t offset, uint64_t size)`:
///   answers `(block_chunk_atom, id, offset, uint64_t total, std::string
///   bytes)`, at most `size` bytes of the kept block's records as bytes
///   from `offset` on and how many there are in all, or `no_block_atom`;
/// - `(release_blocks_atom, std::vector<uint64_t> ids)`: forgets those
///   blocks (no batch of the driver reads them any more);
/// - `(stop_atom)` -> `bool`: a graceful stop: takes no more work, stops
///   the receivers running here, hands the blocks they stored to their
///   drivers' trackers, with their records (5 s at most per step), waits
///   until the driver released the blocks kept here (5 s at most), then
///   ends the actors it started (holders, task host, receivers) and
///   answers once they are down: `true`, or `false` if one was not within
///   5 s (it may still read the graph).
caf::actor spawn_state_node(caf::actor_system& sys,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::string program, std::shared_ptr<clock> clk,
                            stream_options opts);

/// What a node checks, besides the graph, before it serves a driver:
/// "app " and `stream.app-id` if set, else "build " and the executable's
/// build id, so that a node refuses another program with the same graph.
std::string program_id(const stream_options& opts);

} // namespace caf_stream::actors
