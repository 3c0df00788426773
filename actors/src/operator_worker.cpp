#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"

namespace caf_stream::actors {

namespace {

caf::behavior operator_worker(caf::event_based_actor* self) {
  return {
    [=](run_task_atom, const task_ref& ref) {
      auto& batch = *ref.batch;
      // The scheduler ran it already.
      if (!batch.claim(ref.index))
        return;
      batch.run_task(ref.index);
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 task_done_atom::value, batch.id);
    },
  };
}

} // namespace

caf::actor spawn_operator_worker(caf::actor_system& sys) {
  return sys.spawn(operator_worker);
}

} // namespace caf_stream::actors
