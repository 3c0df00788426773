#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "caf_stream/config.hpp"

namespace caf_stream::actors {

/// Node directory: the driver's list of worker nodes (a `node_registry`):
/// those of `named` (`stream.nodes`), then those that joined at run time
/// through `stream.driver-port` (Spark's executors registering with the
/// driver), until they leave or their connection is lost. State routers
/// and receiver placers ask it where the nodes are when they place work.
/// A node joins for the driver of `program` (`program_id`) and the graph
/// `fingerprint` only.
/// - `(join_atom, graph fingerprint, program, host, uint16_t port, actor)`
///   -> `std::string`: the sender, a node's joiner, joins as the node that
///   listens on `host`:`port` (the host its connection came from if `host`
///   is a wildcard address), whose node actor is `actor`, and gets that
///   "host:port" back; an `errc` `invalid_graph` error if it runs another
///   program or graph. The directory monitors the joiner: when its node is
///   lost, so is the node;
/// - `(leave_atom)` -> `void`: the sender's node leaves (a graceful stop);
/// - `(get_atom)` -> `std::vector<std::string>`: the nodes now;
/// - `(get_atom, address)` -> `actor`: the node actor of the node that
///   joined as `address` (invalid if none did).
caf::actor spawn_node_directory(caf::actor_system& sys,
                                std::vector<std::string> named,
                                std::string fingerprint, std::string program);

/// The worker nodes to place work on now: `directory`'s, or `opts`'
/// `stream.nodes` if there is no directory (no node may join).
std::vector<std::string> worker_nodes(caf::blocking_actor* self,
                                      const caf::actor& directory,
                                      const stream_options& opts);

/// Connects `self` to the worker node at `address` as `connect_node` does,
/// unless it joined `directory`: then its node actor comes over the
/// connection it joined through (a second connection between two nodes
/// breaks both under CAF 0.17's TLS).
caf::expected<caf::actor> reach_node(caf::blocking_actor* self,
                                     const caf::actor& directory,
                                     const std::string& address,
                                     const char* role, duration timeout);

/// Node joiner: the worker node's side of the directory's protocol, for
/// `node`, the node actor that listens on `host`:`port`, with the graph
/// `fingerprint` of the program `program`. Joins the driver at `driver` ("host:port", its
/// `stream.driver-port`) and joins again, every second, while the driver
/// cannot be reached or after it was lost (a driver that starts again);
/// gives up on a driver that refuses it (another program or graph).
/// - `(leave_atom)` -> `void`: leaves the driver (waits at most 5 s for
///   it) and joins no more.
/// `timeout` bounds each try to reach the driver.
caf::actor spawn_node_joiner(caf::actor_system& sys, std::string driver,
                             caf::actor node, std::string host, uint16_t port,
                             std::string fingerprint, std::string program,
                             duration timeout);

} // namespace caf_stream::actors
