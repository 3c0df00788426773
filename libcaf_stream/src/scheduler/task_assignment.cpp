#include "caf_stream/scheduler/task_assignment.hpp"

#include <algorithm>
#include <cstdint>

#include "caf_stream/error.hpp"

namespace caf_stream {

task_assignment::task_assignment(size_t num_tasks, size_t num_nodes,
                                 size_t max_failures)
  : task_assignment(num_tasks, std::vector<size_t>(num_nodes, 1),
                    max_failures) {
  // nop
}

task_assignment::task_assignment(size_t num_tasks,
                                 const std::vector<size_t>& slots,
                                 size_t max_failures)
  : tasks_(num_tasks), failed_(slots.size()), max_failures_(max_failures) {
  for (auto x : slots)
    slots_.push_back(std::max<size_t>(x, 1));
  if (slots.empty())
    return;
  // Smooth weighted round-robin: each turn every node gains its slots, the
  // one that gained most (the first on a tie) takes the task and gives the
  // total back. Equal slots make plain round-robin.
  std::vector<int64_t> gained(slots.size());
  int64_t total = 0;
  for (auto x : slots_)
    total += static_cast<int64_t>(x);
  for (auto& x : tasks_) {
    size_t best = 0;
    for (size_t k = 0; k < slots_.size(); ++k) {
      gained[k] += static_cast<int64_t>(slots_[k]);
      if (gained[k] > gained[best])
        best = k;
    }
    gained[best] -= total;
    x.where = best;
  }
}

void task_assignment::prefer(uint32_t task, size_t node) {
  prefer(task, std::vector<size_t>{node});
}

void task_assignment::prefer(uint32_t task, const std::vector<size_t>& nodes) {
  auto& x = tasks_.at(task);
  if (x.sent || x.finished)
    return;
  x.keepers.clear();
  for (auto k : nodes)
    if (k < failed_.size() && !failed_[k])
      x.keepers.push_back(k);
  if (!x.keepers.empty())
    x.where = x.keepers.front();
}

void task_assignment::balance() {
  std::vector<size_t> load(failed_.size());
  for (const auto& x : tasks_)
    if (x.where != driver && !x.sent && !x.finished)
      ++load[x.where];
  // Whether node `b` with one more task stays below node `a`'s load.
  auto lighter = [&](size_t b, size_t a) {
    return (load[b] + 1) * slots_[a] < load[a] * slots_[b];
  };
  // Each move lowers the sum of load(load + 1) over the slots: it ends.
  for (auto moved = true; moved;) {
    moved = false;
    // The last tasks move first: the first stay where they were.
    for (auto i = tasks_.size(); i-- > 0;) {
      auto& x = tasks_[i];
      if (x.sent || x.finished || x.keepers.size() < 2 || x.where == driver)
        continue;
      for (auto k : x.keepers) {
        if (k == x.where || failed_[k] || !lighter(k, x.where))
          continue;
        --load[x.where];
        ++load[k];
        x.where = k;
        moved = true;
      }
    }
  }
}

size_t task_assignment::rounds(size_t node, size_t count) const {
  auto per_round = slots_.at(node);
  return (count + per_round - 1) / per_round;
}

std::vector<uint32_t> task_assignment::take_unsent(size_t node) {
  return take(node, tasks_.size());
}

std::vector<uint32_t> task_assignment::take_round(size_t node) {
  return take(node, slots_.at(node));
}

std::vector<uint32_t> task_assignment::steal_round(size_t node) {
  std::vector<uint32_t> result;
  if (failed_.at(node))
    return result;
  // Whether task `x` may move to `node`.
  auto movable = [&](const task& x) {
    return x.where != driver && x.where != node && !x.sent && !x.finished
           && (x.keepers.empty()
               || std::find(x.keepers.begin(), x.keepers.end(), node)
                    != x.keepers.end());
  };
  while (result.size() < slots_[node]) {
    std::vector<size_t> load(slots_.size());
    for (const auto& x : tasks_)
      if (movable(x))
        ++load[x.where];
    // The most loaded node, by its unsent tasks over its slots.
    size_t from = node;
    for (size_t k = 0; k < load.size(); ++k)
      if (load[k] > 0
          && (from == node || load[k] * slots_[from] > load[from] * slots_[k]))
        from = k;
    if (from == node)
      break;
    for (auto i = tasks_.size(); i-- > 0;) {
      auto& x = tasks_[i];
      if (x.where == from && movable(x)) {
        x.where = node;
        x.sent = true;
        result.push_back(static_cast<uint32_t>(i));
        break;
      }
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<uint32_t> task_assignment::take(size_t node, size_t at_most) {
  std::vector<uint32_t> result;
  for (size_t i = 0; i < tasks_.size() && result.size() < at_most; ++i) {
    auto& x = tasks_[i];
    if (x.where == node && !x.sent && !x.finished) {
      x.sent = true;
      result.push_back(static_cast<uint32_t>(i));
    }
  }
  return result;
}

std::vector<uint32_t> task_assignment::take_for_driver() {
  return take_unsent(driver);
}

void task_assignment::finished(uint32_t task) {
  auto& x = tasks_.at(task);
  if (!x.finished) {
    x.finished = true;
    ++finished_;
  }
}

void task_assignment::node_failed(size_t node, const std::string& why) {
  move_from(node, &why);
}

void task_assignment::node_late(size_t node) {
  move_from(node, nullptr);
}

void task_assignment::answered_by(size_t node,
                                  const std::vector<uint32_t>& tasks) {
  for (auto i : tasks) {
    auto& x = tasks_.at(i);
    x.where = node;
    x.sent = true;
  }
}

void task_assignment::move_from(size_t node, const std::string* why) {
  failed_.at(node) = true;
  auto next = next_node(node);
  for (size_t i = 0; i < tasks_.size(); ++i) {
    auto& x = tasks_[i];
    if (x.where != node || x.finished)
      continue;
    if (why != nullptr && ++x.failures >= max_failures_)
      throw stream_error(errc::job_failure,
                         "task " + std::to_string(i) + " failed "
                           + std::to_string(x.failures)
                           + " times (stream.task.max-failures), last: "
                           + *why);
    x.where = next;
    x.sent = false;
  }
}

size_t task_assignment::failed_nodes() const noexcept {
  return static_cast<size_t>(std::count(failed_.begin(), failed_.end(), true));
}

size_t task_assignment::next_node(size_t after) const {
  auto n = failed_.size();
  for (size_t k = 1; k <= n; ++k) {
    auto candidate = (after + k) % n;
    if (!failed_[candidate])
      return candidate;
  }
  return driver;
}

} // namespace caf_stream
