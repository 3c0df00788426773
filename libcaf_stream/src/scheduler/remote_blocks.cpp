#include "caf_stream/scheduler/remote_blocks.hpp"

namespace caf_stream {

void remote_blocks::add(time t,
                        const std::map<int32_t, std::vector<block>>& blocks) {
  auto note = [&](const std::shared_ptr<const block_holder>& holder,
                  const std::string& location, uint64_t id) {
    if (!holder)
      return;
    auto& r = kept_[t][location];
    if (!r.holder) {
      r.holder = holder;
      r.location = location;
    }
    r.ids.push_back(id);
  };
  for (const auto& [stream, xs] : blocks)
    for (const auto& b : xs) {
      note(b.holder, b.location, b.id);
      note(b.replica, b.replica_location, b.id);
    }
}

std::vector<remote_blocks::release> remote_blocks::take_until(time t) {
  std::map<std::string, release> merged;
  auto end = kept_.upper_bound(t);
  for (auto i = kept_.begin(); i != end; ++i)
    for (auto& [location, r] : i->second) {
      auto& m = merged[location];
      if (!m.holder) {
        m.holder = r.holder;
        m.location = location;
      }
      m.ids.insert(m.ids.end(), r.ids.begin(), r.ids.end());
    }
  kept_.erase(kept_.begin(), end);
  std::vector<release> result;
  for (auto& [location, r] : merged)
    result.push_back(std::move(r));
  return result;
}

size_t remote_blocks::size() const noexcept {
  size_t n = 0;
  for (const auto& [t, by_node] : kept_)
    for (const auto& [location, r] : by_node)
      n += r.ids.size();
  return n;
}

} // namespace caf_stream
