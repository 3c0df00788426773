#pragma once

#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

namespace caf_stream::actors {

class stage_table;

/// Operator worker: runs tasks.
/// - `(run_task_atom, task_ref)`: claims the task and runs it, keeping the
///   first exception in the task's stage, then sends the sender
///   `(task_done_atom, stage id)`; does nothing if the task was claimed
///   already (by the job executor). A task read back from bytes finds its
///   stage in `stages` by name; without `stages`, or once the stage ended,
///   it is not run here (the job executor claims it).
caf::actor spawn_operator_worker(caf::actor_system& sys,
                                 std::shared_ptr<stage_table> stages = nullptr);

} // namespace caf_stream::actors
