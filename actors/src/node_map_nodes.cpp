// The worker nodes of `node_map_stages`: reaching them and their task
// slots, their standing after a late answer, and what a late node's stages
// become (Spark's speculative copies, where the first answer wins).

#include "node_map_stages.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/blocking_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

namespace caf_stream::actors {

caf::expected<caf::actor> node_map_stages::reach(const std::string& address) {
  auto& node = nodes_[address];
  if (node)
    return node;
  auto bound = excluded_.failed_lately(address)
                 ? std::min(opts_.state_timeout, node_connect_bound)
                 : opts_.state_timeout;
  auto reached = reach_node(self_, directory_, address, "worker node", bound);
  if (!reached) {
    nodes_.erase(address);
    return reached;
  }
  node = std::move(*reached);
  self_->monitor(node);
  auto lost = std::make_shared<std::atomic<bool>>(false);
  node->attach_functor([lost] { *lost = true; });
  lost_[address] = std::move(lost);
  // Its task slots, for its share of a stage's tasks (one until it
  // answers; a node that hangs answers nothing anyway).
  self_->request(node, std::min(bound, node_connect_bound), slots_atom::value)
    .receive([&](size_t n) { slots_[address] = n; }, [](caf::error&) {});
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
  auto lost = lost_.find(address);
  if (i != nodes_.end() && lost != lost_.end() && *lost->second
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

void node_map_stages::forget(const caf::actor_addr& node) {
  for (auto i = nodes_.begin(); i != nodes_.end();) {
    if (i->second.address() == node) {
      slots_.erase(i->first);
      i = nodes_.erase(i);
    } else {
      ++i;
    }
  }
}

std::pair<std::vector<uint64_t>, node_map_stages::sent_stages>
node_map_stages::mark_late(sent_stages& out, size_t node) {
  std::vector<uint64_t> marked;
  sent_stages held;
  for (auto i = out.begin(); i != out.end();) {
    auto& x = i->second;
    if (x.node != node || x.reduce) {
      ++i;
      continue;
    }
    // The buckets it holds for other tasks are not needed: those run
    // elsewhere too.
    if (x.held) {
      held.insert(out.extract(i++));
      continue;
    }
    if (!x.host) {
      x.late = true;
      marked.push_back(i->first);
    }
    ++i;
  }
  return {std::move(marked), std::move(held)};
}

std::optional<std::vector<uint64_t>>
node_map_stages::answered_first(sent_stages& out, uint64_t id,
                                const task_assignment& tasks) {
  auto& x = out.at(id);
  auto covered = [&](uint32_t task) {
    return tasks.is_finished(task)
           || std::any_of(out.begin(), out.end(), [&](const auto& y) {
                return y.first != id && !y.second.reduce && y.second.host
                       && std::count(y.second.tasks.begin(),
                                     y.second.tasks.end(), task)
                            > 0;
              });
  };
  if (std::any_of(x.tasks.begin(), x.tasks.end(), covered))
    return std::nullopt;
  x.late = false;
  auto mine = [&](uint32_t task) {
    return std::count(x.tasks.begin(), x.tasks.end(), task) > 0;
  };
  std::vector<uint64_t> copies;
  for (auto i = out.begin(); i != out.end();) {
    auto& y = i->second;
    if (i->first != id && !y.reduce && !y.late && !y.host
        && std::all_of(y.tasks.begin(), y.tasks.end(), mine)) {
      copies.push_back(i->first);
      i = out.erase(i);
    } else {
      ++i;
    }
  }
  return copies;
}

} // namespace caf_stream::actors
