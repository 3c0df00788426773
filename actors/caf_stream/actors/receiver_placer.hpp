#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"

namespace caf_stream {

class receiver_base;

} // namespace caf_stream

namespace caf_stream::detail {

class receiver_input_base;

} // namespace caf_stream::detail

namespace caf_stream::actors {

class runtime_state;

/// The location of a receiver that runs on the driver
/// (`receiver_info::location`).
inline constexpr const char* driver_location = "driver";

/// The actors that run one receiver on the node where it was placed.
struct receiver_actors {
  caf::actor supervisor;
  caf::actor generator;
};

/// Starts receiver `rcv` of the receiver stream `in` on this node, the
/// driver (`location` is `driver_location`) or a worker node (the node's
/// "host:port" as the driver names it, for the driver's `tracker` and
/// `listener_bus`): holds `in`'s buffer to `opts`' rate and queue, spawns
/// its block generator, which registers with `tracker` and sends it the
/// blocks, and its supervisor (`spawn_receiver_supervisor`), then starts
/// the receiver. On a worker with `opts.receiver_replication` 2, a block
/// that `store` hands over whole goes to the tracker before `store` returns
/// (waiting at most `opts.state_timeout`). With `keeper`, the worker
/// node's actor, the blocks stay on the node (`kept_blocks`); with
/// replication 2 and `peers` (the other worker nodes), their second copy
/// goes to the first of `peers` that takes it before the tracker learns of
/// them, else to the tracker; a peer takes it if it runs the program
/// `program_id(opts)` with the graph `fingerprint`.
receiver_actors start_receiver(caf::actor_system& sys,
                               detail::receiver_input_base& in,
                               std::shared_ptr<receiver_base> rcv,
                               std::shared_ptr<clock> clk,
                               const stream_options& opts, caf::actor tracker,
                               caf::actor listener_bus,
                               std::shared_ptr<runtime_state> runtime,
                               const std::string& location,
                               caf::actor keeper = {},
                               std::vector<block_peer> peers = {},
                               const std::string& fingerprint = {});

/// Receiver placer of one receiver stream (the receiver scheduling of
/// Spark's ReceiverTracker), detached: runs the stream's receiver on a
/// worker node (`nodes`, the node directory, else `opts.state_nodes`; stream
/// `k` first on node `k % n` of those at the time, then
/// on the next one that takes it; asked for the receiver of the graph with
/// `graph_fingerprint` in the program `program_id(opts)`), else on this
/// node (`rcv`, this node's receiver of `in`; always for a receiver that is
/// `driver_only` or whose records cannot leave the node). When the
/// receiver's node is lost (its supervisor goes down), starts it again on
/// the next node or on this node. Stands in for the receiver's
/// supervisor:
/// - `(rate_atom, double)`: passed on to the supervisor;
/// - `(stop_atom, message)` -> `unit`: stops the receiver for good (waiting
///   at most `opts.state_timeout` for a worker node);
/// - on exit: stops the receiver.
caf::actor spawn_receiver_placer(caf::actor_system& sys,
                                 std::shared_ptr<detail::receiver_input_base> in,
                                 std::shared_ptr<receiver_base> rcv,
                                 std::shared_ptr<clock> clk,
                                 stream_options opts,
                                 std::string graph_fingerprint,
                                 caf::actor tracker, caf::actor listener_bus,
                                 std::shared_ptr<runtime_state> runtime,
                                 caf::actor nodes = {});

} // namespace caf_stream::actors
