// The job executor's side of stages on the worker nodes: which stages go
// there, and what their tasks' answers become (a stage's run is in
// `node_stage_run.cpp`).

#include "node_map_stages.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

namespace caf_stream::actors {

namespace {

// How long a node that failed map tasks gets none: 5 s, and twice as long
// each time it fails again before it ran tasks, up to 80 s (a frozen node
// costs a stage its connection's timeout each time it is tried).
constexpr auto first_exclusion = std::chrono::seconds(5);
constexpr auto longest_exclusion = std::chrono::seconds(80);

} // namespace

node_map_stages::node_map_stages(caf::blocking_actor* self,
                                 const detail::dstream_graph& graph,
                                 const stream_options& opts,
                                 const caf::actor& directory,
                                 executor_table& executors, node_watch& watch)
  : self_(self),
    graph_(graph),
    opts_(opts),
    directory_(directory),
    executors_(executors),
    fingerprint_(graph.fingerprint()),
    program_(program_id(opts)),
    inputs_(graph),
    watch_(watch),
    excluded_(first_exclusion, longest_exclusion),
    log_(detail::logger("executor")) {
  // nop
}

node_map_stages::~node_map_stages() {
  // nop
}

std::vector<uint32_t>
node_map_stages::partitions_of(const std::vector<uint32_t>& tasks,
                               const std::vector<uint32_t>* partitions) {
  if (partitions == nullptr)
    return tasks;
  std::vector<uint32_t> result;
  for (auto i : tasks)
    result.push_back(partitions->at(i));
  return result;
}

void node_map_stages::set_batch(const job_set& js) {
  inputs_.set_batch(js);
}

bool node_map_stages::run(
  const detail::rdd_node_base& shuffle, size_t n,
  detail::function_ref<void(const std::vector<uint32_t>&)> here) {
  if (!shuffle.map_output_serializable()
      || (detail::map_stage_reads_shuffle(shuffle)
          && !detail::map_tasks_read_reduced(shuffle)))
    return false;
  auto take_buckets = [&](const std::vector<uint32_t>& mine,
                          std::vector<std::string>& buckets,
                          task_assignment& tasks) {
    return take(shuffle, mine, buckets, tasks);
  };
  return run_stage(shuffle, n, std::nullopt, here, take_buckets);
}

std::optional<std::vector<std::string>> node_map_stages::run_result_stage(
  const detail::rdd_node_base& node, const std::vector<uint32_t>& partitions,
  result_form form,
  detail::function_ref<std::vector<std::string>(const std::vector<uint32_t>&)>
    here) {
  if (!detail::result_tasks_run_where_kept(node, partitions, form))
    return std::nullopt;
  // By task: task k computes partition `partitions[k]`.
  std::vector<std::string> result(partitions.size());
  auto take_records = [&](const std::vector<uint32_t>& mine,
                          std::vector<std::string>& records,
                          task_assignment& tasks) -> std::string {
    if (records.size() != mine.size())
      return "it answered " + std::to_string(records.size())
             + " partitions for " + std::to_string(mine.size()) + " tasks";
    for (size_t j = 0; j < mine.size(); ++j) {
      result[mine[j]] = std::move(records[j]);
      tasks.finished(mine[j]);
    }
    return {};
  };
  auto local = [&](const std::vector<uint32_t>& mine) {
    auto records = here(partitions_of(mine, &partitions));
    for (size_t j = 0; j < mine.size(); ++j)
      result[mine[j]] = std::move(records.at(j));
  };
  if (!run_stage(node, result.size(), form, local, take_records, &partitions))
    return std::nullopt;
  return result;
}

} // namespace caf_stream::actors
