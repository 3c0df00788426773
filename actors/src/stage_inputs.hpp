#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/job.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

class dstream_graph;
class rdd_node_base;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// The inputs of a batch as its map stages carry them to worker nodes
/// (`node_map_stages`): each node gets the partitions and blocks its tasks
/// read, as bytes, and no records of the blocks it keeps itself.
class stage_inputs {
public:
  explicit stage_inputs(const detail::dstream_graph& graph) : graph_(graph) {
    // nop
  }

  /// The batch whose stages run next (its inputs, without its jobs).
  void set_batch(const job_set& js);

  time batch_time() const noexcept {
    return batch_.batch_time;
  }

  /// The batch's inputs for the worker node `node`, which runs map tasks
  /// `tasks` of `shuffle`: with `own_partitions`
  /// (`map_tasks_read_own_partitions`) only the partitions of each input
  /// those tasks read, made for this call (the first node's stage goes out
  /// before the next node's partitions are made); else the blocks those
  /// tasks read (all of them if the lineage does not tell) and every
  /// generated input whole, made once per batch. Without tasks, the inputs
  /// without records.
  job_set for_node(const detail::rdd_node_base& shuffle,
                   const std::vector<uint32_t>& tasks, bool own_partitions,
                   const std::string& node);

  /// Whether the batch's stages carry records from here: a generated input
  /// (a queue's RDDs), or a block whose records the driver holds.
  bool carries_records() const;

  /// The bytes of records in `x` (its blocks' and generated inputs'
  /// partitions).
  static size_t bytes_in(const job_set& x);

private:
  // Turns the batch's generated inputs into bytes, once per batch.
  void encode();

  // Block `b` as it goes to the worker node `node`: without its records if
  // that node keeps them, else with them as bytes (made once per batch).
  static block block_for(block& b, const std::string& node);

  // Block `b` for a node whose tasks do not read it: no records, no bytes.
  static block left_out(const block& b);

  // Which blocks of each receiver stream map tasks `tasks` of `shuffle`
  // read (`detail::map_task_input`); none if the lineage does not tell for
  // each task.
  std::optional<std::map<int32_t, std::vector<bool>>>
  blocks_read(const detail::rdd_node_base& shuffle,
              const std::vector<uint32_t>& tasks) const;

  const detail::dstream_graph& graph_;
  job_set batch_;
  // Whether `batch_`'s generated inputs are bytes already.
  bool encoded_ = false;
};

} // namespace caf_stream::actors
