#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::actors {

class stage_table;
struct task_batch;
struct task_ref;

/// Runs a stage's tasks on operator workers and on the blocking actor that
/// calls `run` (the job executor, a worker node's task host), which is a
/// task slot too and waits for the workers in its own mailbox: other
/// messages stay queued meanwhile. The caller runs the last task itself
/// instead of waiting idle, then every task no worker has started yet, so
/// tiny tasks never wait for a worker to wake up and the caller's share
/// grows when the workers are late. With `through_bytes`, every task goes
/// through bytes, the caller's too.
class task_spreader {
public:
  /// `stages`: where the workers find a stage whose tasks went as bytes
  /// (`through_bytes`: `stream.serialize-messages`).
  task_spreader(caf::blocking_actor* self,
                const std::vector<caf::actor>& workers, stage_table& stages,
                bool through_bytes)
    : self_(self),
      workers_(workers),
      stages_(stages),
      through_bytes_(through_bytes) {
    // nop
  }

  /// Runs tasks `[0, n)` of a stage of batch `t`; rethrows the first
  /// exception a task threw once all of them ended.
  void run(size_t n, detail::function_ref<void(size_t)> task, time t);

private:
  // Task `i` of `batch`, a stage of batch `t`, as it goes to a worker
  // (through bytes with `through_bytes_`).
  task_ref ref_of(const std::shared_ptr<task_batch>& batch, size_t i, time t);

  // Runs task `i` of `batch`, which the caller claimed: with
  // `through_bytes_`, through its stage found by the name it had after its
  // trip through bytes.
  void run_here(const std::shared_ptr<task_batch>& batch, size_t i, time t);

  caf::blocking_actor* self_;
  const std::vector<caf::actor>& workers_;
  stage_table& stages_;
  bool through_bytes_;
  uint64_t next_id_ = 0;
  size_t next_worker_ = 0;
};

} // namespace caf_stream::actors
