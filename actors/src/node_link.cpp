#include "caf_stream/actors/node_link.hpp"

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"

namespace caf_stream::actors {

bool nodes_use_tls(caf::actor_system& sys) {
  return sys.has_openssl_manager();
}

caf::io::middleman_actor node_connector(caf::actor_system& sys) {
  if (nodes_use_tls(sys))
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, caf::actor node,
                                     uint16_t port, const std::string& host) {
  if (nodes_use_tls(sys))
    return caf::openssl::publish(node, port, host.c_str(), true);
  return sys.middleman().publish(node, port, host.c_str(), true);
}

} // namespace caf_stream::actors
