#include "caf_stream/scheduler/node_exclusion.hpp"

#include <algorithm>

namespace caf_stream {

bool node_exclusion::excluded(const std::string& node,
                              clock::time_point now) const {
  auto i = nodes_.find(node);
  return i != nodes_.end() && now < i->second.until;
}

node_exclusion::clock::duration
node_exclusion::failed(const std::string& node, clock::time_point now) {
  auto [i, added] = nodes_.try_emplace(node, entry{now + first_, first_});
  auto& x = i->second;
  if (!added && now >= x.until) {
    x.last = std::min(x.last * 2, longest_);
    x.until = now + x.last;
  }
  return x.last;
}

void node_exclusion::succeeded(const std::string& node) {
  nodes_.erase(node);
}

} // namespace caf_stream
