#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/io/middleman_actor.hpp"

#include "caf_stream/duration.hpp"

namespace caf_stream::actors {

/// How long connecting to another node may take, at most: a frozen node's
/// kernel accepts the connection, but CAF's handshake never ends.
inline constexpr duration node_connect_bound{2000};

/// Whether nodes talk over TLS: the actor system has CAF's OpenSSL manager
/// (`caf::openssl::manager`) loaded. With `openssl.certificate`,
/// `openssl.key` and `openssl.cafile` set, both sides present a certificate
/// the CA signed (mutual TLS); without them CAF 0.17 encrypts with
/// anonymous ECDH, which authenticates no one.
bool nodes_use_tls(caf::actor_system& sys);

/// The actor that connects this node to others (`connect_atom`): the OpenSSL
/// manager's with TLS, else the middleman's.
caf::io::middleman_actor node_connector(caf::actor_system& sys);

/// Whether connecting failed because CAF 0.17 closed the connection before
/// the peer's handshake came: until then its heartbeat check counts the
/// peer as last seen at time 0, so the next tick (at most
/// `middleman.heartbeat-interval` away) cuts a handshake that a loaded
/// machine's healthy node was slow to send. Worth one more try.
bool handshake_cut(const caf::error& e);

/// Connects `self` to the node published at `address` ("host:port", as in
/// `stream.nodes`), waiting at most `timeout` (a node that hangs accepts the
/// connection but never finishes CAF's handshake). Returns the node's actor,
/// or why it cannot be reached: "cannot reach the `role` `address`: ...",
/// with TLS what a refusal may mean. Tries once more after a
/// `handshake_cut`. Throws `stream_error` if the actor system has no
/// middleman.
caf::expected<caf::actor> connect_node(caf::blocking_actor* self,
                                       const std::string& address,
                                       const char* role, duration timeout);

/// The task slots of the worker node whose actor is `node` (its
/// `stream.workers`), as it answers `self` within `timeout`, if it serves
/// the program `program` with the graph `fingerprint`; else the node's
/// refusal (a `stream_error`: another program or graph, or it stops), or
/// CAF's error if it does not answer.
caf::expected<size_t> node_slots(caf::blocking_actor* self,
                                 const caf::actor& node,
                                 const std::string& fingerprint,
                                 const std::string& program,
                                 duration timeout);

/// Listens for other nodes on `host`:`port` (0: any free port) and serves
/// them `node`, over TLS if `nodes_use_tls`. Returns the port.
caf::expected<uint16_t> publish_node(caf::actor_system& sys, caf::actor node,
                                     uint16_t port, const std::string& host);

/// Closes `port`, on which `publish_node` listens: it serves no more.
caf::expected<void> close_node_port(caf::actor_system& sys, uint16_t port);

} // namespace caf_stream::actors
