#include "caf_stream/actors/listener_bus.hpp"

#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
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

// Calls the listeners, one event at a time: tells the bus it is ready for
// the next (`next_event_atom`), gets it, delivers it, tells the bus again.
// A blocking actor, not a detached event-based one: CAF 0.17's private
// threads of detached event-based actors can keep the actor alive past its
// end and hang the actor system's shutdown (CAF issue 1196, fixed in 0.18).
class listener_runner final : public caf::blocking_actor {
public:
  listener_runner(caf::actor_config& cfg, caf::actor bus,
                  std::shared_ptr<runtime_state> state)
    : caf::blocking_actor(cfg),
      bus_(std::move(bus)),
      state_(std::move(state)),
      log_(detail::logger("listener")) {
    // nop
  }

  void act() override {
    bool running = true;
    send(bus_, next_event_atom::value);
    receive_while(running)(
      [&](const listener_event& event) {
        for (auto& x : state_->listeners()) {
          try {
            event.deliver_to(*x);
          } catch (const std::exception& e) {
            log_->error("a streaming listener threw: {}", e.what());
          }
        }
        send(bus_, next_event_atom::value);
      },
      [&](caf::exit_msg&) { running = false; });
  }

  const char* name() const override {
    return "caf_stream.listener_runner";
  }

private:
  caf::actor bus_;
  std::shared_ptr<runtime_state> state_;
  std::shared_ptr<spdlog::logger> log_;
};

struct bus_state {
  std::optional<listener_event_queue> queue;
  caf::actor runner;
  // Whether the runner is ready for the next event (it has none).
  bool runner_idle = false;
  // Drain requests, answered when the runner is idle with nothing left.
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
  auto runner = self->system().spawn<listener_runner, caf::detached>(
    caf::actor_cast<caf::actor>(self), std::move(state));
  self->state.runner = runner;
  // The runner ends with the bus (after the listener it runs returns).
  self->attach_functor([runner] {
    caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
  });
  return {
    [=](listener_event& event) {
      auto& st = self->state;
      if (st.runner_idle) {
        self->send(st.runner, std::move(event));
        st.runner_idle = false;
        return;
      }
      if (!st.queue->push(std::move(event)) && st.queue->dropped() == 1)
        st.log->warn("dropping listener events: {} are waiting for slow "
                     "listeners (stream.listener-bus.capacity); batches go "
                     "on, listeners miss events",
                     st.queue->size());
    },
    [=](next_event_atom) {
      auto& st = self->state;
      if (auto event = st.queue->pop()) {
        self->send(st.runner, std::move(*event));
        return;
      }
      st.runner_idle = true;
      answer_drains(self);
    },
    [=](drain_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.runner_idle && st.queue->empty())
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
