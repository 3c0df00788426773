#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/rdd/rdd_node.hpp"

namespace caf_stream::detail {

/// Where a node sits in a lineage: the index among `parents()` of each step
/// down from the lineage's root. The same program builds the same lineage
/// for a stream's batch on every node, so a path found on one node leads to
/// the same node on another (Spark names an RDD by its id instead, which
/// its driver gives out and ships with the task).
using lineage_path = std::vector<uint32_t>;

/// The path from `root` to `target` (the first, depth first), if `target`
/// is in `root`'s lineage.
std::optional<lineage_path> path_to(const rdd_node_base& root,
                                    const rdd_node_base& target);

/// The node at `path` below `root`; null if the lineage has no such node.
const rdd_node_base* node_at(const rdd_node_base& root,
                             const lineage_path& path);

/// Whether computing a partition of `shuffle`'s parents reads the output of
/// another shuffle: its map stage then needs that shuffle's buckets, which
/// only the node that ran that map stage holds, or its reduced partitions
/// (`map_tasks_read_reduced`).
bool map_stage_reads_shuffle(const rdd_node_base& shuffle);

/// The shuffle whose partition map task `task` of `shuffle` reads, with
/// that partition in `index`, found down a lineage of one-to-one nodes and
/// unions (as `map_task_input`); null if the task reads no other shuffle's
/// partition that way.
const rdd_node_base* map_task_reduced_input(const rdd_node_base& shuffle,
                                            size_t task, size_t& index);

/// Whether each map task of `shuffle` reads one partition of another
/// shuffle (`map_task_reduced_input`), of shuffles whose reduced
/// partitions serialize (`takes_reduced`), or one partition of an input
/// (`map_task_input`; a join of a count with the batch's records), and at
/// least one reads a shuffle's: another node then runs the tasks from
/// those partitions (`reduced_input`), which the driver computed, and the
/// batch's inputs. Spark's tasks of a later stage read the earlier stage's
/// output as well, from wherever it is.
bool map_tasks_read_reduced(const rdd_node_base& shuffle);

/// The partitions of the inputs that map tasks `tasks` of `shuffle` read
/// besides other shuffles' (`map_tasks_read_reduced`), sorted, each once.
/// With several inputs, `i` stands for partition `i` of each: a node then
/// gets some partitions that its tasks do not read.
std::vector<uint32_t>
map_tasks_input_partitions(const rdd_node_base& shuffle,
                           const std::vector<uint32_t>& tasks);

/// Partition `index` of the shuffle at `path` below a map stage's shuffle,
/// as bytes (`rdd_node_base::use_reduced`): what a map task of a stage that
/// reads another shuffle's output gets on a worker node.
struct reduced_input {
  lineage_path path;
  uint32_t index = 0;
  std::string bytes;
};

/// Whether map task `i` of `shuffle` reads partition `i` of its lineage's
/// input and nothing else: the lineage below the shuffle is one chain of
/// one-to-one nodes (map, filter, map_partitions, cache, ...) down to the
/// input. Another node that runs some of the tasks then needs only their
/// partitions of the batch's input.
bool map_tasks_read_own_partitions(const rdd_node_base& shuffle);

/// The input that map task `task` of `shuffle` reads, with the partition
/// it reads in `index`, found down a lineage of one-to-one nodes and
/// unions; null if the lineage does not tell.
const rdd_node_base* map_task_input(const rdd_node_base& shuffle,
                                    size_t task, size_t& index);

/// The worker nodes that keep the input map task `task` of `shuffle` reads
/// (`rdd_node_base::locations`), found down a lineage of one-to-one nodes
/// and unions; empty if none keeps it or the lineage does not tell.
std::vector<std::string> map_task_locations(const rdd_node_base& shuffle,
                                            size_t task);

/// Whether another node can compute the partitions of `node` for a result
/// stage that answers `form` (`rdd_node_base::run_result_tasks`): its
/// records serialize (unless it counts them), it is no shuffle and reads
/// none, and it is an input or its partition `i` reads the `i`th partition
/// of its parents one after the other (one-to-one nodes and unions), so
/// that `map_task_input(node, i)` finds what it reads.
bool result_tasks_portable(const rdd_node_base& node, result_form form);

/// Whether partitions `partitions` of `node` are best computed on the
/// worker nodes that keep their input, for a result stage that answers
/// `form`: `result_tasks_portable(node, form)`, and each one's input is
/// kept on a worker node (`map_task_locations`), whose records would
/// otherwise cross to the node that runs the action. Not every partition
/// of an input for its records: its blocks come faster as they are. Not
/// partitions that a cache here holds, all of them (`holds`).
bool result_tasks_run_where_kept(const rdd_node_base& node,
                                 const std::vector<uint32_t>& partitions,
                                 result_form form);

} // namespace caf_stream::detail
