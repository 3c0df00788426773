#include "task_spreader.hpp"

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "caf/blocking_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::actors {

void task_spreader::run(size_t n, detail::function_ref<void(size_t)> task,
                        time t) {
  if (n == 0)
    return;
  if ((n == 1 || workers_.empty()) && !through_bytes_) {
    for (size_t i = 0; i < n; ++i)
      task(i);
    return;
  }
  auto batch = std::make_shared<task_batch>(++next_id_, task, n);
  scoped_stage registered{stages_, batch};
  if (!workers_.empty())
    for (size_t i = 0; i + 1 < n; ++i)
      self_->send(workers_[(next_worker_++) % workers_.size()],
                  run_task_atom::value, ref_of(batch, i, t));
  size_t by_workers = n;
  for (size_t i = n; i-- > 0;)
    if (batch->claim(i)) {
      run_here(batch, i, t);
      --by_workers;
    }
  size_t done = 0;
  self_->receive_while([&] { return done < by_workers; })(
    [&](task_done_atom, uint64_t id) {
      if (id == batch->id)
        ++done;
    });
  if (batch->error)
    std::rethrow_exception(batch->error);
}

task_ref task_spreader::ref_of(const std::shared_ptr<task_batch>& batch,
                               size_t i, time t) {
  task_ref ref{batch, i, stages_.graph(), batch->id, t};
  if (through_bytes_)
    return through_bytes(self_->system(), std::move(ref));
  return ref;
}

void task_spreader::run_here(const std::shared_ptr<task_batch>& batch,
                             size_t i, time t) {
  if (!through_bytes_) {
    batch->run_task(i);
    return;
  }
  // Its failure is the stage's, as a task's: the workers still run theirs.
  try {
    // A task read back from bytes names its stage only, as a worker's does.
    auto ref = ref_of(batch, i, t);
    auto found = stages_.find(ref.graph, ref.stage);
    if (!found)
      throw stream_error(errc::illegal_state,
                         "task " + std::to_string(i) + " of stage "
                           + std::to_string(ref.stage)
                           + " names no stage of this node after its trip "
                             "through bytes");
    found->run_task(ref.index);
  } catch (...) {
    std::lock_guard<std::mutex> guard{batch->mtx};
    if (!batch->error)
      batch->error = std::current_exception();
  }
}

} // namespace caf_stream::actors
