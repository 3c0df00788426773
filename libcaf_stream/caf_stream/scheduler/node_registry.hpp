#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace caf_stream {

/// The worker nodes a driver gives work to, by "host:port": those
/// `stream.nodes` names, which stay (a lost one may come back on its port),
/// then those that joined at run time (`stream.driver`), in the order they
/// joined, until they leave or are lost (Spark's executors as its driver
/// sees them).
class node_registry {
public:
  explicit node_registry(std::vector<std::string> named)
    : nodes_(std::move(named)), named_(nodes_.size()) {
    // nop
  }

  /// Adds a node that joined; returns false if it is known already.
  bool join(const std::string& address);

  /// Removes a node that joined; returns false if it is none (a named node
  /// stays).
  bool leave(const std::string& address);

  /// The nodes: the named ones, then those that joined.
  const std::vector<std::string>& nodes() const noexcept {
    return nodes_;
  }

  /// Where the driver reaches a node that listens on `host`:`port`:
  /// `host`, or `peer` (the address its connection came from) if `host` is
  /// a wildcard ("0.0.0.0", "::" or empty: every interface).
  static std::string address_of(const std::string& host, uint16_t port,
                                const std::string& peer);

  /// Why a `role` ("worker node", "state node") of the program
  /// `node_program` with the graph `node_fingerprint` does not serve a
  /// driver of `program` with `fingerprint` ("the worker node runs another
  /// program: ...", as the node reads it); empty if it does.
  static std::string refusal(const char* role, const std::string& program,
                             const std::string& fingerprint,
                             const std::string& node_program,
                             const std::string& node_fingerprint);

private:
  std::vector<std::string> nodes_;
  // How many of `nodes_`, from the first, are named.
  size_t named_;
};

} // namespace caf_stream
