#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "caf_stream/scheduler/executor_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// The executors the driver sent tasks or state partitions to, and the
/// tasks each ran since the last batch (what Spark's `AppStatusListener`
/// keeps for its Executors tab): the driver, and each worker node from the
/// first time it was reached until it is lost; a node reached again after
/// that is added again. The job executor takes the changes and the tasks
/// after each batch for the listeners; a change is stamped with the time
/// it is taken.
class executor_table {
public:
  /// The driver, with `driver_cores` task slots (`stream.workers`).
  explicit executor_table(size_t driver_cores);

  /// Worker node `id` was reached, with `cores` task slots: added unless
  /// it is there already (then its slots are updated).
  void reached(const std::string& id, size_t cores);

  /// Worker node `id` was lost (`why`); nothing if it is not there.
  void lost(const std::string& id, const std::string& why);

  /// `n` tasks ran on executor `id`, and the batch took their outputs.
  void completed(const std::string& id, size_t n);

  /// `n` tasks failed on executor `id`.
  void failed(const std::string& id, size_t n);

  /// The executors added or removed since the last call, in that order,
  /// stamped `now` (an executor added and lost in between comes twice).
  std::vector<executor_info> take_changes(time now);

  /// The tasks each executor ran since the last call, by id.
  std::map<std::string, executor_tasks> take_tasks();

  /// The executors that take tasks now, by id.
  const std::map<std::string, executor_info>& active() const noexcept {
    return active_;
  }

private:
  // An executor as it was added or removed, without the times it has yet
  // (`stamp_add`: added since the last `take_changes` too).
  struct change {
    executor_info info;
    bool stamp_add;
  };

  std::map<std::string, executor_info> active_;
  // The active executors added since the last `take_changes`.
  std::set<std::string> unstamped_;
  std::vector<change> changes_;
  std::map<std::string, executor_tasks> tasks_;
};

} // namespace caf_stream
