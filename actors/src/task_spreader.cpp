#include "task_spreader.hpp"

#include <exception>
#include <memory>

#include "caf/blocking_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/through_bytes.hpp"

namespace caf_stream::actors {

void task_spreader::run(size_t n, detail::function_ref<void(size_t)> task,
                        time t) {
  if (n == 0)
    return;
  if (n == 1 || workers_.empty()) {
    for (size_t i = 0; i < n; ++i)
      task(i);
    return;
  }
  auto batch = std::make_shared<task_batch>(++next_id_, task, n);
  scoped_stage registered{stages_, batch};
  for (size_t i = 0; i + 1 < n; ++i) {
    task_ref ref{batch, i, stages_.graph(), batch->id, t};
    if (through_bytes_)
      ref = through_bytes(self_->system(), std::move(ref));
    self_->send(workers_[(next_worker_++) % workers_.size()],
                run_task_atom::value, std::move(ref));
  }
  size_t by_workers = n;
  for (size_t i = n; i-- > 0;)
    if (batch->claim(i)) {
      batch->run_task(i);
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

} // namespace caf_stream::actors
