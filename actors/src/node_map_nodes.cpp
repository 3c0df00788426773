// The worker nodes of `node_map_stages`: reaching them and their task
// slots, and their standing after a late answer.

#include "node_map_stages.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/blocking_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/dstream/graph.hpp"

namespace caf_stream::actors {

caf::expected<caf::actor> node_map_stages::reach(const std::string& address) {
  auto& node = nodes_[address];
  if (node)
    return node;
  hosts_.erase(address);
  auto bound = excluded_.failed_lately(address)
                 ? std::min(opts_.state_timeout, node_connect_bound)
                 : opts_.state_timeout;
  auto reached = reach_node(self_, directory_, address, "worker node", bound);
  if (!reached) {
    nodes_.erase(address);
    return reached;
  }
  // Its task slots, for its share of a stage's tasks (one until it
  // answers; a node that hangs answers nothing anyway). A node of another
  // program or graph refuses: it is of no use here. One that stops
  // refuses too, but still serves the blocks it keeps until the driver
  // released them (its stages' tasks it refuses).
  auto slots = node_slots(self_, *reached, graph_.fingerprint(),
                          program_id(opts_),
                          std::min(bound, node_connect_bound));
  if (!slots && slots.error() == errc::invalid_graph) {
    nodes_.erase(address);
    return std::move(slots.error());
  }
  node = std::move(*reached);
  self_->monitor(node);
  if (slots)
    slots_[address] = *slots;
  watch_.reached(address, node, slots_of({address}).front());
  return node;
}

caf::actor node_map_stages::node_at(const std::string& address,
                                    const caf::actor& named) {
  // A block that names another actor than the lost one came from the node
  // since (a new process on the address, or the same one, resumed and
  // connected again: CAF 0.17 makes a new proxy once it dropped a node):
  // that node is reached again. The lost one itself is not: over TLS, a
  // handshake with a process that is dying leaves an error in the I/O
  // thread's OpenSSL queue (CAF 0.17), which the next read of another
  // node's connection takes for its own, and that connection closes.
  auto i = nodes_.find(address);
  if (i != nodes_.end() && watch_.lost(address, i->second)
      && named != i->second)
    nodes_.erase(i);
  auto reached = reach(address);
  return reached ? std::move(*reached) : caf::actor{};
}

void node_map_stages::late_answer(uint64_t id, const caf::actor& host) {
  self_->send(host, release_atom::value, id);
  auto i = given_up_.find(id);
  if (i == given_up_.end())
    return;
  excluded_.succeeded(i->second);
  log_->info("the worker node {} answered the tasks it was given up on "
             "as late: it is slow, not lost, and gets tasks again",
             i->second);
  given_up_.erase(i);
}

void node_map_stages::given_up(uint64_t id, const std::string& address) {
  given_up_.emplace(id, address);
  // A node that never answers (frozen, then lost) leaves its entries: the
  // oldest go.
  while (given_up_.size() > 64)
    given_up_.erase(given_up_.begin());
}

std::vector<size_t>
node_map_stages::slots_of(const std::vector<std::string>& addresses) const {
  std::vector<size_t> result;
  for (const auto& x : addresses) {
    auto i = slots_.find(x);
    result.push_back(i != slots_.end() ? i->second : 1);
  }
  return result;
}

bool node_map_stages::forget(const caf::actor_addr& actor) {
  auto node = false;
  for (auto i = nodes_.begin(); i != nodes_.end();) {
    if (i->second.address() == actor) {
      node = true;
      slots_.erase(i->first);
      hosts_.erase(i->first);
      i = nodes_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = hosts_.begin(); i != hosts_.end();)
    i = i->second.address() == actor ? hosts_.erase(i) : std::next(i);
  return node;
}

void node_map_stages::keep_host(const std::string& address,
                                const caf::actor& host) {
  auto& known = hosts_[address];
  if (known == host)
    return;
  known = host;
  self_->monitor(host);
}

const caf::actor* node_map_stages::host_of(const std::string& address) const {
  auto i = hosts_.find(address);
  return i != hosts_.end() ? &i->second : nullptr;
}

} // namespace caf_stream::actors
