#include "caf_stream/actors/node_link.hpp"

#include <mutex>
#include <set>
#include <utility>

#include <openssl/err.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::actors {

bool nodes_use_tls(caf::actor_system& sys) {
  return sys.has_openssl_manager();
}

caf::io::middleman_actor node_connector(caf::actor_system& sys) {
  if (nodes_use_tls(sys))
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

void guard_tls_peer(caf::actor_system& sys, const caf::actor& peer) {
  if (!peer || !nodes_use_tls(sys) || peer.node() == sys.node())
    return;
  // The nodes guarded, by actor system: a node again once it was dropped.
  using key = std::pair<const caf::actor_system*, caf::node_id>;
  static std::mutex mtx;
  static std::set<key> guarded;
  key k{&sys, peer.node()};
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (!guarded.insert(k).second)
      return;
  }
  // A proxy's functors run where the middleman kills it: on the I/O
  // thread, as it drops the node's connection.
  peer->attach_functor([k] {
    ERR_clear_error();
    std::lock_guard<std::mutex> guard{mtx};
    guarded.erase(k);
  });
}

caf::expected<caf::actor> connect_node(caf::blocking_actor* self,
                                       const std::string& address,
                                       const char* role, duration timeout) {
  auto& sys = self->system();
  if (!sys.has_middleman())
    throw stream_error(errc::invalid_config,
                       "stream.nodes is set, but the actor system has no "
                       "middleman: load caf::io::middleman in its "
                       "configuration");
  auto [host, port] = parse_node_address(address, "stream.nodes");
  caf::actor result;
  std::string failure = "no actor is published on that port";
  // Through the middleman actor, which a request can bound.
  self->request(node_connector(sys), timeout, caf::connect_atom::value, host,
                port)
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& x, std::set<std::string>&) {
        result = caf::actor_cast<caf::actor>(std::move(x));
      },
      [&](caf::error& e) {
        const auto& ctx = e.context();
        if (e == caf::sec::request_timeout)
          failure = "no answer within " + to_string(timeout);
        else if (ctx.match_elements<std::string>())
          failure = ctx.get_as<std::string>(0);
        else
          failure = sys.render(e);
      });
  if (result) {
    guard_tls_peer(sys, result);
    return result;
  }
  if (nodes_use_tls(sys))
    failure += " (over TLS: a node without TLS, or whose certificate the CA "
               "in openssl.cafile did not sign, is refused)";
  return caf::make_error(errc::job_failure, std::string{"cannot reach the "}
                                              + role + " " + address + ": "
                                              + failure);
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, caf::actor node,
                                     uint16_t port, const std::string& host) {
  if (nodes_use_tls(sys))
    return caf::openssl::publish(node, port, host.c_str(), true);
  return sys.middleman().publish(node, port, host.c_str(), true);
}

caf::expected<void> close_node_port(caf::actor_system& sys, uint16_t port) {
  // Through the connector: CAF 0.17.6's `openssl::unpublish` does not
  // compile.
  caf::scoped_actor self{sys};
  caf::error failure;
  self
    ->request(node_connector(sys), caf::infinite, caf::close_atom::value,
              port)
    .receive([] {}, [&](caf::error& e) { failure = std::move(e); });
  if (failure)
    return failure;
  return {};
}

} // namespace caf_stream::actors
