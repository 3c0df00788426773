#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"

namespace caf_stream::actors {

namespace {

caf::behavior operator_worker(caf::event_based_actor*) {
  return {
    [](run_task_atom, task_ref ref) {
      auto& batch = *ref.batch;
      try {
        batch.run(ref.index);
      } catch (...) {
        std::lock_guard<std::mutex> guard{batch.mtx};
        if (!batch.error)
          batch.error = std::current_exception();
      }
      return caf::make_message(task_done_atom::value, batch.id);
    },
  };
}

} // namespace

caf::actor spawn_operator_worker(caf::actor_system& sys) {
  return sys.spawn(operator_worker);
}

} // namespace caf_stream::actors
