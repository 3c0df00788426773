#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// One place where tasks run (Spark's executor, as its Executors tab and
/// `ExecutorSummary` show it): the driver, or a worker node the driver sent
/// tasks or state partitions to.
struct executor_info {
  /// "driver", or the worker node's "host:port" as the driver names it.
  std::string id;
  /// Whether it takes tasks (false once the node was lost or left).
  bool active = true;
  /// Its task slots (`stream.workers` there).
  size_t total_cores = 0;
  /// When the driver first reached it (again, after it was lost).
  time add_time;
  /// When the driver lost it, and why.
  std::optional<time> remove_time;
  std::string remove_reason;
};

/// The tasks one executor ran in a batch (Spark's listener reports each
/// task's end, `onTaskEnd`; a batch reports them by executor).
struct executor_tasks {
  /// Tasks whose output the batch took.
  int64_t completed = 0;
  /// Tasks that failed there (a task's error, or its node failed or was
  /// lost while they ran), and ran again elsewhere or failed the job.
  int64_t failed = 0;

  friend bool operator==(const executor_tasks& x,
                         const executor_tasks& y) noexcept {
    return x.completed == y.completed && x.failed == y.failed;
  }
};

} // namespace caf_stream
