#include "node_watch.hpp"

#include <utility>

#include "caf/actor_system.hpp"

#include "caf_stream/scheduler/executor_table.hpp"

namespace caf_stream::actors {

void node_watch::loss::set(const caf::error& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  reason_ = reason;
  lost_ = true;
}

std::optional<caf::error> node_watch::loss::reason() const {
  if (!lost_)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{mtx_};
  return reason_;
}

node_watch::node_watch(caf::actor_system& sys, executor_table& executors)
  : sys_(sys), executors_(executors) {
  // nop
}

void node_watch::reached(const std::string& address, const caf::actor& node,
                         size_t slots) {
  auto i = nodes_.find(address);
  if (i != nodes_.end()) {
    if (i->second.node == node.address()) {
      if (!i->second.down->lost())
        executors_.reached(address, slots);
      return;
    }
    note_lost(address, i->second);
  }
  auto down = std::make_shared<loss>();
  node->attach_functor([down](const caf::error& reason) { down->set(reason); });
  nodes_[address] = watched{node.address(), std::move(down)};
  executors_.reached(address, slots);
}

bool node_watch::lost(const std::string& address,
                      const caf::actor& node) const {
  auto i = nodes_.find(address);
  if (i == nodes_.end())
    return false;
  return i->second.node != node.address() || i->second.down->lost();
}

void node_watch::note_lost() {
  for (const auto& [address, x] : nodes_)
    note_lost(address, x);
}

void node_watch::note_lost(const std::string& address, const watched& x) {
  if (auto why = x.down->reason())
    executors_.lost(address, "the node was lost: " + sys_.render(*why));
}

} // namespace caf_stream::actors
