#include "caf_stream/scheduler/task_assignment.hpp"

#include <algorithm>

#include "caf_stream/error.hpp"

namespace caf_stream {

task_assignment::task_assignment(size_t num_tasks, size_t num_nodes,
                                 size_t max_failures)
  : tasks_(num_tasks), failed_(num_nodes), max_failures_(max_failures) {
  for (size_t i = 0; i < num_tasks; ++i)
    tasks_[i].where = num_nodes == 0 ? driver : i % num_nodes;
}

void task_assignment::prefer(uint32_t task, size_t node) {
  auto& x = tasks_.at(task);
  if (node < failed_.size() && !failed_[node] && !x.sent && !x.finished)
    x.where = node;
}

std::vector<uint32_t> task_assignment::take_unsent(size_t node) {
  std::vector<uint32_t> result;
  for (size_t i = 0; i < tasks_.size(); ++i) {
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
  failed_.at(node) = true;
  auto next = next_node(node);
  for (size_t i = 0; i < tasks_.size(); ++i) {
    auto& x = tasks_[i];
    if (x.where != node || x.finished)
      continue;
    if (++x.failures >= max_failures_)
      throw stream_error(errc::job_failure,
                         "task " + std::to_string(i) + " failed "
                           + std::to_string(x.failures)
                           + " times (stream.task.max-failures), last: "
                           + why);
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
