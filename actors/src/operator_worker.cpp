#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

caf::behavior operator_worker(caf::event_based_actor* self,
                              std::shared_ptr<stage_table> stages) {
  return {
    [=](run_task_atom, const task_ref& ref) {
      // A task read back from bytes names its stage only.
      auto batch = ref.batch;
      if (!batch && stages) {
        if (ref.graph != stages->graph())
          detail::logger("worker")->error("a task of stage {} names another "
                                          "program's graph: not run",
                                          ref.stage);
        batch = stages->find(ref.graph, ref.stage);
      }
      // The stage ended (its tasks were all claimed), or the scheduler ran
      // this task already.
      if (!batch || !batch->claim(ref.index))
        return;
      batch->run_task(ref.index);
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 task_done_atom::value, batch->id);
    },
  };
}

} // namespace

caf::actor spawn_operator_worker(caf::actor_system& sys,
                                 std::shared_ptr<stage_table> stages) {
  return sys.spawn(operator_worker, std::move(stages));
}

} // namespace caf_stream::actors
