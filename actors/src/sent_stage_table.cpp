#include "sent_stage_table.hpp"

#include <algorithm>

#include "caf_stream/scheduler/task_assignment.hpp"

namespace caf_stream::actors {

std::optional<sent_stage> sent_stage_table::take(uint64_t id) {
  auto i = stages_.find(id);
  if (i == stages_.end())
    return std::nullopt;
  auto x = std::move(i->second);
  stages_.erase(i);
  return x;
}

sent_stage_table::taken sent_stage_table::take_all() {
  taken result;
  for (auto& x : stages_)
    result.emplace_back(x.first, std::move(x.second));
  stages_.clear();
  return result;
}

bool sent_stage_table::waiting() const {
  return std::any_of(stages_.begin(), stages_.end(), [](const auto& x) {
    return !x.second.held && !x.second.late;
  });
}

std::vector<uint64_t> sent_stage_table::unanswered() const {
  std::vector<uint64_t> result;
  for (const auto& [id, x] : stages_)
    if (!x.held && !x.late)
      result.push_back(id);
  return result;
}

std::vector<uint64_t>
sent_stage_table::sent_to(const caf::actor_addr& actor) const {
  std::vector<uint64_t> result;
  for (const auto& [id, x] : stages_)
    if (x.actor == actor || x.via == actor
        || (x.host && x.host.address() == actor))
      result.push_back(id);
  return result;
}

sent_stage_table::taken sent_stage_table::take_held(size_t node) {
  taken result;
  for (auto i = stages_.begin(); i != stages_.end();) {
    if (i->second.node == node && i->second.held) {
      result.emplace_back(i->first, std::move(i->second));
      i = stages_.erase(i);
    } else {
      ++i;
    }
  }
  return result;
}

std::pair<sent_stage_table::taken,
          std::vector<std::pair<uint64_t, std::vector<uint64_t>>>>
sent_stage_table::reduce_failed() {
  taken reduces;
  std::vector<std::pair<uint64_t, std::vector<uint64_t>>> unheld;
  for (auto i = stages_.begin(); i != stages_.end();) {
    auto& x = i->second;
    if (x.reduce) {
      reduces.emplace_back(i->first, std::move(x));
      i = stages_.erase(i);
      continue;
    }
    if (x.held) {
      x.held = false;
      unheld.emplace_back(i->first, x.sizes);
    }
    ++i;
  }
  return {std::move(reduces), std::move(unheld)};
}

std::pair<std::vector<uint64_t>, sent_stage_table::taken>
sent_stage_table::mark_late(size_t node) {
  std::vector<uint64_t> marked;
  taken held;
  for (auto i = stages_.begin(); i != stages_.end();) {
    auto& x = i->second;
    if (x.node != node || x.reduce) {
      ++i;
      continue;
    }
    // The buckets it holds for other tasks are not needed: those run
    // elsewhere too.
    if (x.held) {
      held.emplace_back(i->first, std::move(x));
      i = stages_.erase(i);
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
sent_stage_table::answered_first(uint64_t id, const task_assignment& tasks) {
  auto& x = stages_.at(id);
  auto covered = [&](uint32_t task) {
    return tasks.is_finished(task)
           || std::any_of(stages_.begin(), stages_.end(), [&](const auto& y) {
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
  for (auto i = stages_.begin(); i != stages_.end();) {
    auto& y = i->second;
    if (i->first != id && !y.reduce && !y.late && !y.host
        && std::all_of(y.tasks.begin(), y.tasks.end(), mine)) {
      copies.push_back(i->first);
      i = stages_.erase(i);
    } else {
      ++i;
    }
  }
  return copies;
}

} // namespace caf_stream::actors
