// What the stages of `node_map_stages` carry and bring back: a stage as a
// node runs it, with the partitions of earlier shuffles that its tasks
// read; whether a node's buckets fit the driver's shuffle, taking them
// into it, and where the reduce tasks go to read them.

#include "node_map_stages.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/rdd/shuffle_store.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

namespace caf_stream::actors {

map_stage
node_map_stages::stage_of(const detail::dstream_graph::stage_location& where,
                          std::vector<uint32_t> tasks, job_set inputs) const {
  return map_stage{fingerprint_,
                   program_,
                   graph_.zero_time(),
                   static_cast<uint32_t>(graph_.default_parallelism()),
                   opts_.state_timeout.count(),
                   where.stream,
                   where.path,
                   std::move(tasks),
                   std::move(inputs),
                   {}};
}

std::vector<detail::reduced_input>
node_map_stages::reduced_inputs(const detail::rdd_node_base& shuffle,
                                const std::vector<uint32_t>& tasks) {
  std::vector<detail::reduced_input> result;
  for (auto i : tasks) {
    size_t index = 0;
    const auto* read = detail::map_task_reduced_input(shuffle, i, index);
    // The task reads an input's partition, which comes with the inputs.
    if (read == nullptr)
      continue;
    auto path = detail::path_to(shuffle, *read);
    if (!path)
      throw stream_error(errc::illegal_state,
                         "map task " + std::to_string(i)
                           + " reads a shuffle outside its lineage");
    auto at = static_cast<uint32_t>(index);
    auto bytes = read->run_result_tasks({at}, task_runner::inline_runner(),
                                        result_form::records);
    result.push_back({std::move(*path), at, std::move(bytes.at(0))});
  }
  return result;
}

size_t
node_map_stages::bytes_of(const std::vector<detail::reduced_input>& xs) {
  size_t result = 0;
  for (const auto& x : xs)
    result += x.bytes.size();
  return result;
}

std::string node_map_stages::misfit(const detail::rdd_node_base& shuffle,
                                    size_t tasks, size_t spans) {
  auto n = shuffle.num_partitions();
  if (spans == 2 * n * tasks)
    return {};
  return "its copy of the shuffle has "
         + std::to_string(tasks != 0 ? spans / 2 / tasks : 0)
         + " reduce partitions, the driver's " + std::to_string(n)
         + " (a by-key operation that names no count takes the node's own "
           "stream.default-parallelism: give every node the driver's)";
}

std::string node_map_stages::take(const detail::rdd_node_base& shuffle,
                                  const std::vector<uint32_t>& mine,
                                  const std::vector<std::string>& buckets,
                                  task_assignment& tasks) {
  if (buckets.size() != mine.size())
    return "it answered " + std::to_string(buckets.size())
           + " map outputs for " + std::to_string(mine.size()) + " tasks";
  try {
    // A map task has at most a bucket per reduce partition (a sort's has
    // one run), an aggregating shuffle's exactly: one more would be lost.
    for (const auto& frame : buckets) {
      auto k = detail::bucket_spans(frame).size();
      if (k > shuffle.num_partitions()
          || (shuffle.reduce_serializable() && k != shuffle.num_partitions()))
        return misfit(shuffle, 1, 2 * k);
    }
    for (size_t j = 0; j < mine.size(); ++j) {
      shuffle.add_map_output(mine[j], buckets[j]);
      tasks.finished(mine[j]);
    }
  } catch (const std::exception& e) {
    return std::string{"its map output is malformed: "} + e.what();
  }
  return {};
}

std::map<size_t, reduce_stage> node_map_stages::reduce_stages(
  const detail::rdd_node_base& shuffle,
  const detail::dstream_graph::stage_location& where, size_t num_maps,
  const std::vector<std::string>& addresses,
  const sent_stage_table::stage_map& held) {
  // Where each map task's buckets are: its stage, its place among the
  // stage's outputs, and its node.
  struct place {
    uint64_t stage = 0;
    uint32_t output = 0;
    const sent_stage* x = nullptr;
  };
  std::vector<place> places(num_maps);
  std::vector<size_t> holders;
  for (const auto& [id, x] : held) {
    // A late stage's tasks ran again elsewhere.
    if (x.late)
      continue;
    if (!x.held || !nodes_.count(addresses[x.node]))
      return {};
    holders.push_back(x.node);
    for (size_t j = 0; j < x.tasks.size(); ++j)
      places.at(x.tasks[j]) = place{id, static_cast<uint32_t>(j), &x};
  }
  if (std::any_of(places.begin(), places.end(),
                  [](const place& p) { return p.x == nullptr; }))
    return {};
  std::sort(holders.begin(), holders.end());
  holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
  // What every reduce stage names: the shuffle (with the batch's inputs
  // without records) and the map outputs.
  reduce_stage common;
  common.shuffle = stage_of(where, {}, inputs_.for_node(shuffle, {}, true, {}));
  // The other nodes' fetches go to a holder's task host, which answered
  // its map stage, rather than through its node actor.
  for (auto k : holders) {
    common.addresses.push_back(addresses[k]);
    auto host = host_of(addresses[k]);
    common.nodes.push_back(host ? *host : nodes_.at(addresses[k]));
  }
  for (const auto& p : places) {
    auto h = std::find(holders.begin(), holders.end(), p.x->node);
    common.holders.push_back(static_cast<uint32_t>(h - holders.begin()));
    common.stages.push_back(p.stage);
    common.outputs.push_back(p.output);
  }
  // The reduce partitions go to the nodes that hold buckets, in
  // proportion to their task slots.
  auto n = shuffle.num_partitions();
  task_assignment spread{n, slots_of(common.addresses), 1};
  std::map<size_t, reduce_stage> result;
  for (size_t j = 0; j < holders.size(); ++j)
    if (auto mine = spread.take_unsent(j); !mine.empty())
      result.try_emplace(holders[j], common).first->second.shuffle.tasks
        = std::move(mine);
  for (auto& [k, stage] : result)
    for (const auto& p : places)
      for (auto i : stage.shuffle.tasks) {
        auto at = 2 * (p.output * n + i);
        stage.spans.push_back(p.x->spans.at(at));
        stage.spans.push_back(p.x->spans.at(at + 1));
      }
  return result;
}

} // namespace caf_stream::actors
