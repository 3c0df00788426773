#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace caf_stream::actors {

struct task_batch;

/// The stages running on one node, by name. A task that arrives as bytes
/// names its stage, and its worker finds the stage here: the job executor
/// registers each stage while it runs (Spark's executors deserialize a
/// task's closure instead; ours is code the same program has). Thread-safe.
class stage_table {
public:
  /// `graph`: `graph_id` of this node's graph.
  explicit stage_table(uint64_t graph) noexcept : graph_(graph) {
    // nop
  }

  /// A stable 64-bit name of a graph's fingerprint (FNV-1a), the same in
  /// every process of the same program.
  static uint64_t graph_id(const std::string& fingerprint) noexcept;

  uint64_t graph() const noexcept {
    return graph_;
  }

  /// Registers `stage` under its id until `remove`.
  void add(std::shared_ptr<task_batch> stage);

  void remove(uint64_t stage);

  /// Stage `stage` of graph `graph` while it runs; null once it ended (all
  /// its tasks were claimed) or if `graph` is not this node's graph.
  std::shared_ptr<task_batch> find(uint64_t graph, uint64_t stage) const;

  /// The number of stages running.
  size_t size() const;

private:
  uint64_t graph_;
  mutable std::mutex mtx_;
  std::map<uint64_t, std::shared_ptr<task_batch>> stages_;
};

/// Registers a stage in a table for the lifetime of this object.
class scoped_stage {
public:
  scoped_stage(stage_table& table, std::shared_ptr<task_batch> stage);

  ~scoped_stage();

  scoped_stage(const scoped_stage&) = delete;

  scoped_stage& operator=(const scoped_stage&) = delete;

private:
  stage_table& table_;
  uint64_t id_;
};

} // namespace caf_stream::actors
