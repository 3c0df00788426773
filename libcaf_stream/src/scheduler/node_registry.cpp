#include "caf_stream/scheduler/node_registry.hpp"

#include <algorithm>

namespace caf_stream {

bool node_registry::join(const std::string& address) {
  if (std::find(nodes_.begin(), nodes_.end(), address) != nodes_.end())
    return false;
  nodes_.push_back(address);
  return true;
}

bool node_registry::leave(const std::string& address) {
  auto joined = nodes_.begin() + static_cast<std::ptrdiff_t>(named_);
  auto i = std::find(joined, nodes_.end(), address);
  if (i == nodes_.end())
    return false;
  nodes_.erase(i);
  return true;
}

std::string node_registry::address_of(const std::string& host, uint16_t port,
                                      const std::string& peer) {
  auto wildcard = host.empty() || host == "0.0.0.0" || host == "::";
  return (wildcard ? peer : host) + ":" + std::to_string(port);
}

std::string node_registry::refusal(const char* role,
                                   const std::string& program,
                                   const std::string& fingerprint,
                                   const std::string& node_program,
                                   const std::string& node_fingerprint) {
  if (program != node_program)
    return std::string{"the "} + role + " runs another program: the driver is '"
           + program + "', this node '" + node_program
           + "'; start the node with the driver's executable, or give both "
             "the same stream.app-id";
  if (fingerprint != node_fingerprint)
    return std::string{"the "} + role + " runs another graph: the driver's is '"
           + fingerprint + "', this node's '" + node_fingerprint
           + "'; start the node with the driver's program";
  return {};
}

} // namespace caf_stream
