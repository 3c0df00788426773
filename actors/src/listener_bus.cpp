#include "caf_stream/actors/listener_bus.hpp"

#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/typed_response_promise.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/scheduler/listener_event_queue.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf_stream::actors {

namespace {

struct runner_state {
  std::shared_ptr<runtime_state> state;
  std::shared_ptr<spdlog::logger> log = detail::logger("listener");
  static inline const char* name = "caf_stream.listener_runner";
};

// Asks the bus for the next event, delivers it to every listener, asks
// again: the bus learns that an event was delivered when the next is asked.
void deliver_next(caf::stateful_actor<runner_state>* self, caf::actor bus) {
  self->request(bus, caf::infinite, next_event_atom::value)
    .then([=](const listener_event& event) {
      for (auto& x : self->state.state->listeners()) {
        try {
          event.deliver_to(*x);
        } catch (const std::exception& e) {
          self->state.log->error("a streaming listener threw: {}", e.what());
        }
      }
      deliver_next(self, bus);
    });
}

caf::behavior listener_runner(caf::stateful_actor<runner_state>* self,
                              caf::actor bus,
                              std::shared_ptr<runtime_state> state) {
  self->state.state = std::move(state);
  deliver_next(self, std::move(bus));
  // It handles the bus's replies only; the behavior keeps it alive between
  // them.
  return {[](drain_atom) {}};
}

struct bus_state {
  std::optional<listener_event_queue> queue;
  // The runner's request for the next event, while the queue is empty.
  std::optional<caf::typed_response_promise<listener_event>> waiting;
  // Drain requests, answered when the runner asks for more and there is
  // nothing left.
  std::vector<caf::typed_response_promise<uint64_t>> draining;
  std::shared_ptr<spdlog::logger> log = detail::logger("listener");
  static inline const char* name = "caf_stream.listener_bus";
};

using bus_actor = caf::stateful_actor<bus_state>;

void answer_drains(bus_actor* self) {
  for (auto& rp : self->state.draining)
    rp.deliver(self->state.queue->dropped());
  self->state.draining.clear();
}

caf::behavior listener_bus(bus_actor* self,
                           std::shared_ptr<runtime_state> state,
                           size_t capacity) {
  self->state.queue.emplace(capacity);
  auto runner = self->system().spawn<caf::detached>(
    listener_runner, caf::actor_cast<caf::actor>(self), std::move(state));
  // The runner ends with the bus (after the listener it runs returns).
  self->attach_functor([runner] {
    caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
  });
  return {
    [=](listener_event& event) {
      auto& st = self->state;
      if (st.waiting) {
        st.waiting->deliver(std::move(event));
        st.waiting.reset();
        return;
      }
      if (!st.queue->push(std::move(event)) && st.queue->dropped() == 1)
        st.log->warn("dropping listener events: {} are waiting for slow "
                     "listeners (stream.listener-bus.capacity); batches go "
                     "on, listeners miss events",
                     st.queue->size());
    },
    [=](next_event_atom) -> caf::result<listener_event> {
      auto& st = self->state;
      if (auto event = st.queue->pop())
        return std::move(*event);
      answer_drains(self);
      auto rp = self->make_response_promise<listener_event>();
      st.waiting = rp;
      return rp;
    },
    [=](drain_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.waiting && st.queue->empty())
        return st.queue->dropped();
      auto rp = self->make_response_promise<uint64_t>();
      st.draining.push_back(rp);
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_listener_bus(caf::actor_system& sys,
                              std::shared_ptr<runtime_state> state,
                              size_t capacity) {
  return sys.spawn(listener_bus, std::move(state), capacity);
}

} // namespace caf_stream::actors
