#include "caf_stream/rdd/lineage.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <system_error>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

bool find(const rdd_node_base& node, const rdd_node_base& target,
          lineage_path& path) {
  if (&node == &target)
    return true;
  auto parents = node.parents();
  for (uint32_t i = 0; i < parents.size(); ++i) {
    path.push_back(i);
    if (find(*parents[i], target, path))
      return true;
    path.pop_back();
  }
  return false;
}

bool reads_shuffle(const rdd_node_base& node) {
  if (node.is_shuffle())
    return true;
  for (auto* parent : node.parents())
    if (reads_shuffle(*parent))
      return true;
  return false;
}

} // namespace

std::vector<std::string>
rdd_node_base::run_map_tasks(const std::vector<uint32_t>&,
                             task_runner&) const {
  throw stream_error(errc::illegal_state,
                     is_shuffle() ? "the buckets of this shuffle's records "
                                    "cannot be serialized"
                                  : "this RDD has no map stage");
}

void rdd_node_base::add_map_output(size_t, const std::string&) const {
  throw stream_error(errc::illegal_state, "this RDD has no map stage whose "
                                          "buckets come from another node");
}

std::vector<std::string>
rdd_node_base::run_reduce_tasks(const std::vector<uint32_t>&,
                                const std::vector<std::vector<std::string>>&,
                                task_runner&) const {
  throw stream_error(errc::illegal_state,
                     "this RDD has no reduce tasks that run on another node");
}

void rdd_node_base::add_reduced(size_t, const std::string&) const {
  throw stream_error(errc::illegal_state, "this RDD has no partitions that "
                                          "come reduced from another node");
}

void rdd_node_base::use_reduced(size_t, const std::string&) const {
  throw stream_error(errc::illegal_state,
                     "this RDD has no partitions that come computed with a "
                     "later stage's tasks");
}

std::vector<std::string>
rdd_node_base::run_result_tasks(const std::vector<uint32_t>&, task_runner&,
                                result_form) const {
  throw stream_error(errc::illegal_state,
                     "the records of this RDD cannot be serialized: its "
                     "partitions are computed where its action runs");
}

std::string count_bytes(int64_t n) {
  return std::to_string(n);
}

int64_t count_of_bytes(const std::string& bytes) {
  int64_t n = -1;
  auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(),
                                   n);
  if (ec != std::errc{} || end != bytes.data() + bytes.size() || n < 0)
    throw std::invalid_argument("not a number of records: "
                                + std::to_string(bytes.size()) + " bytes");
  return n;
}

std::vector<std::string> rdd_node_base::locations(size_t) const {
  return {};
}

void rdd_node_base::prepare_parents(task_runner& runner) const {
  for (auto* parent : parents())
    parent->prepare(runner);
}

std::optional<lineage_path> path_to(const rdd_node_base& root,
                                    const rdd_node_base& target) {
  lineage_path path;
  if (find(root, target, path))
    return path;
  return std::nullopt;
}

const rdd_node_base* node_at(const rdd_node_base& root,
                             const lineage_path& path) {
  auto* node = &root;
  for (auto i : path) {
    auto parents = node->parents();
    if (i >= parents.size())
      return nullptr;
    node = parents[i];
  }
  return node;
}

bool map_stage_reads_shuffle(const rdd_node_base& shuffle) {
  for (auto* parent : shuffle.parents())
    if (reads_shuffle(*parent))
      return true;
  return false;
}

bool map_tasks_read_own_partitions(const rdd_node_base& shuffle) {
  auto parents = shuffle.parents();
  if (parents.size() != 1)
    return false;
  auto n = parents[0]->num_partitions();
  for (auto* node = parents[0];;) {
    if (node->num_partitions() != n)
      return false;
    auto below = node->parents();
    if (below.empty())
      return true;
    if (below.size() != 1)
      return false;
    node = below[0];
  }
}

namespace {

// Map task `task` of `shuffle` reads partition `index` of the node this
// returns, down one-to-one nodes and unions: an input, or with
// `to_shuffle` another shuffle; null if the lineage does not tell.
const rdd_node_base* task_input(const rdd_node_base& shuffle, size_t task,
                                size_t& index, bool to_shuffle) {
  // Map task i reads partition i of the shuffle's parents one after the
  // other, as a union reads its parents'; a one-to-one node reads the same
  // partition of its parent.
  const rdd_node_base* node = &shuffle;
  index = task;
  for (;;) {
    if (node != &shuffle && node->is_shuffle())
      return to_shuffle ? node : nullptr;
    auto parents = node->parents();
    if (parents.empty())
      return to_shuffle ? nullptr : node;
    size_t total = 0;
    for (auto* p : parents)
      total += p->num_partitions();
    if (node != &shuffle
        && (!node->reads_parents_in_turn()
            || total != node->num_partitions()))
      return nullptr;
    auto i = parents.begin();
    while (i != parents.end() && index >= (*i)->num_partitions()) {
      index -= (*i)->num_partitions();
      ++i;
    }
    if (i == parents.end())
      return nullptr;
    node = *i;
  }
}

} // namespace

const rdd_node_base* map_task_input(const rdd_node_base& shuffle,
                                    size_t task, size_t& index) {
  return task_input(shuffle, task, index, false);
}

const rdd_node_base* map_task_reduced_input(const rdd_node_base& shuffle,
                                            size_t task, size_t& index) {
  return task_input(shuffle, task, index, true);
}

bool map_tasks_read_reduced(const rdd_node_base& shuffle) {
  size_t num_tasks = 0;
  for (auto* parent : shuffle.parents())
    num_tasks += parent->num_partitions();
  bool reads_shuffle = false;
  for (size_t i = 0; i < num_tasks; ++i) {
    size_t index = 0;
    if (auto* read = map_task_reduced_input(shuffle, i, index)) {
      if (!read->takes_reduced())
        return false;
      reads_shuffle = true;
    } else if (map_task_input(shuffle, i, index) == nullptr) {
      return false;
    }
  }
  return reads_shuffle;
}

std::vector<uint32_t>
map_tasks_input_partitions(const rdd_node_base& shuffle,
                           const std::vector<uint32_t>& tasks) {
  std::vector<uint32_t> result;
  for (auto i : tasks) {
    size_t index = 0;
    if (map_task_reduced_input(shuffle, i, index) == nullptr
        && map_task_input(shuffle, i, index) != nullptr)
      result.push_back(static_cast<uint32_t>(index));
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

bool result_tasks_portable(const rdd_node_base& node, result_form form) {
  if (node.is_shuffle()
      || (form == result_form::records && !node.records_serializable())
      || map_stage_reads_shuffle(node))
    return false;
  auto parents = node.parents();
  if (parents.empty())
    return true;
  size_t total = 0;
  for (auto* p : parents)
    total += p->num_partitions();
  return node.reads_parents_in_turn() && total == node.num_partitions();
}

bool result_tasks_run_where_kept(const rdd_node_base& node,
                                 const std::vector<uint32_t>& partitions,
                                 result_form form) {
  if (partitions.empty() || !result_tasks_portable(node, form))
    return false;
  // An input's blocks, all of them, come faster as they are (but for their
  // numbers of records).
  if (form == result_form::records && node.parents().empty()
      && partitions.size() == node.num_partitions())
    return false;
  // A cache that holds every partition asked for is read here.
  if (std::all_of(partitions.begin(), partitions.end(),
                  [&](uint32_t i) {
                    return i < node.num_partitions() && node.holds(i);
                  }))
    return false;
  for (auto i : partitions)
    if (i >= node.num_partitions() || map_task_locations(node, i).empty())
      return false;
  return true;
}

std::vector<std::string> map_task_locations(const rdd_node_base& shuffle,
                                            size_t task) {
  size_t index = 0;
  auto* input = map_task_input(shuffle, task, index);
  return input != nullptr ? input->locations(index)
                          : std::vector<std::string>{};
}

} // namespace caf_stream::detail
