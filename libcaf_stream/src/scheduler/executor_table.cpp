#include "caf_stream/scheduler/executor_table.hpp"

#include <utility>

namespace caf_stream {

executor_table::executor_table(size_t driver_cores) {
  reached("driver", driver_cores);
}

void executor_table::reached(const std::string& id, size_t cores) {
  auto [i, added] = active_.try_emplace(id);
  i->second.total_cores = cores;
  if (!added)
    return;
  i->second.id = id;
  unstamped_.insert(id);
  changes_.push_back(change{i->second, true});
}

void executor_table::lost(const std::string& id, const std::string& why) {
  auto i = active_.find(id);
  if (i == active_.end())
    return;
  auto x = std::move(i->second);
  active_.erase(i);
  x.active = false;
  x.remove_reason = why;
  auto stamp_add = unstamped_.erase(id) > 0;
  changes_.push_back(change{std::move(x), stamp_add});
}

void executor_table::completed(const std::string& id, size_t n) {
  if (n > 0)
    tasks_[id].completed += static_cast<int64_t>(n);
}

void executor_table::failed(const std::string& id, size_t n) {
  if (n > 0)
    tasks_[id].failed += static_cast<int64_t>(n);
}

std::vector<executor_info> executor_table::take_changes(time now) {
  for (const auto& id : unstamped_)
    active_.at(id).add_time = now;
  unstamped_.clear();
  std::vector<executor_info> result;
  for (auto& x : std::exchange(changes_, {})) {
    if (x.stamp_add)
      x.info.add_time = now;
    if (!x.info.active)
      x.info.remove_time = now;
    result.push_back(std::move(x.info));
  }
  return result;
}

std::map<std::string, executor_tasks> executor_table::take_tasks() {
  return std::exchange(tasks_, {});
}

} // namespace caf_stream
