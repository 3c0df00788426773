#include "task_spreader.hpp"

#include <exception>
#include <memory>
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
  auto ref_of = [&](size_t i) {
    task_ref ref{batch, i, stages_.graph(), batch->id, t};
    return through_bytes_ ? through_bytes(self_->system(), std::move(ref))
                          : ref;
  };
  if (!workers_.empty())
    for (size_t i = 0; i + 1 < n; ++i)
      self_->send(workers_[(next_worker_++) % workers_.size()],
                  run_task_atom::value, ref_of(i));
  size_t by_workers = n;
  for (size_t i = n; i-- > 0;)
    if (batch->claim(i)) {
      run_here(ref_of(i));
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

void task_spreader::run_here(const task_ref& ref) {
  // A task read back from bytes names its stage only, as a worker's does.
  auto batch = ref.batch ? ref.batch : stages_.find(ref.graph, ref.stage);
  if (!batch)
    throw stream_error(errc::illegal_state,
                       "task " + std::to_string(ref.index) + " of stage "
                         + std::to_string(ref.stage)
                         + " names no stage of this node after its trip "
                           "through bytes");
  batch->run_task(ref.index);
}

} // namespace caf_stream::actors
