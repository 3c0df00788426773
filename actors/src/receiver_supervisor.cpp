#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/detail/log.hpp"

#include "timer.hpp"

namespace caf_stream::actors {

namespace {

/// Forwards a receiver's calls on itself to its supervisor. Holds a weak
/// reference: a receiver thread that outlives the runtime talks to nobody.
class supervisor_host final : public detail::receiver_host {
public:
  explicit supervisor_host(caf::weak_actor_ptr supervisor)
    : supervisor_(std::move(supervisor)) {
    // nop
  }

  void restart(const std::string& message,
               std::optional<duration> delay) override {
    send(restart_atom::value, message, delay ? delay->count() : int64_t{-1});
  }

  void stop(const std::string& message) override {
    send(stop_atom::value, message);
  }

  void report_error(const std::string& message) override {
    send(error_atom::value, message);
  }

private:
  template <class... Ts>
  void send(Ts&&... xs) {
    if (auto strong = supervisor_.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong),
                     std::forward<Ts>(xs)...);
  }

  caf::weak_actor_ptr supervisor_;
};

struct supervisor_state {
  std::shared_ptr<receiver_base> rcv;
  std::shared_ptr<clock> clk;
  duration restart_delay;
  bool running = false;
  bool stopped_for_good = false;
  caf::actor listener_bus;
  std::shared_ptr<runtime_state> runtime;
  // What the receiver events tell the listeners.
  receiver_info info;
  std::shared_ptr<spdlog::logger> log = detail::logger("receiver");
  static inline const char* name = "caf_stream.receiver_supervisor";
};

using supervisor_actor = caf::stateful_actor<supervisor_state>;

// Each event costs the bus a wake-up: none while nobody listens. On a worker
// node (no runtime) the driver's bus decides.
void tell_listeners(supervisor_actor* self, listener_event::kind what) {
  auto& st = self->state;
  if (!st.runtime || st.runtime->has_listeners())
    self->send(st.listener_bus, listener_event{what, {}, st.info, {}});
}

void note_error(supervisor_actor* self, const std::string& message) {
  auto& st = self->state;
  st.info.last_error = message;
  st.info.last_error_time = st.clk->now();
  tell_listeners(self, listener_event::kind::receiver_error);
}

void stop_receiver(supervisor_actor* self) {
  auto& st = self->state;
  st.rcv->set_stopped(true);
  if (!st.running)
    return;
  st.running = false;
  try {
    st.rcv->on_stop();
  } catch (const std::exception& e) {
    st.log->error("receiver {}: on_stop threw: {}", st.rcv->stream_id(),
                  e.what());
  }
}

void start_receiver(supervisor_actor* self) {
  auto& st = self->state;
  if (st.stopped_for_good || st.running)
    return;
  st.rcv->set_stopped(false);
  st.running = true;
  try {
    st.rcv->on_start();
    st.log->info("receiver {} started", st.rcv->stream_id());
    st.info.active = true;
    tell_listeners(self, listener_event::kind::receiver_started);
  } catch (const std::exception& e) {
    st.rcv->restart(std::string{"on_start threw: "} + e.what());
  }
}

caf::behavior receiver_supervisor(supervisor_actor* self,
                                  std::shared_ptr<receiver_base> rcv,
                                  std::shared_ptr<clock> clk,
                                  duration restart_delay, int32_t stream_id,
                                  std::string name, std::string location,
                                  caf::actor listener_bus,
                                  std::shared_ptr<runtime_state> runtime) {
  auto& st = self->state;
  st.rcv = std::move(rcv);
  st.clk = std::move(clk);
  st.restart_delay = restart_delay;
  st.listener_bus = std::move(listener_bus);
  st.runtime = std::move(runtime);
  st.info.stream_id = stream_id;
  st.info.name = std::move(name);
  st.info.location = std::move(location);
  st.rcv->attach(std::make_shared<supervisor_host>(
                   caf::weak_actor_ptr{self->ctrl()}),
                 stream_id);
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    stop_receiver(self);
    self->quit(msg.reason);
  });
  return {
    [=](start_atom) { start_receiver(self); },
    [=](restart_atom, const std::string& message, int64_t delay_ms) {
      auto& st = self->state;
      if (st.stopped_for_good)
        return;
      auto delay = delay_ms >= 0 ? duration{delay_ms} : st.restart_delay;
      st.log->warn("restarting receiver {} in {} ms: {}", st.rcv->stream_id(),
                   delay.count(), message);
      stop_receiver(self);
      st.info.active = false;
      note_error(self, message);
      send_at(self, *st.clk, st.clk->now() + delay, start_atom::value);
    },
    [=](stop_atom, const std::string& message) {
      auto& st = self->state;
      if (!message.empty())
        st.log->info("stopping receiver {}: {}", st.rcv->stream_id(), message);
      auto was_active = st.info.active;
      st.stopped_for_good = true;
      stop_receiver(self);
      st.info.active = false;
      if (was_active)
        tell_listeners(self, listener_event::kind::receiver_stopped);
      return caf::unit;
    },
    [=](error_atom, const std::string& message) {
      self->state.log->error("receiver {}: {}", self->state.rcv->stream_id(),
                             message);
      note_error(self, message);
    },
    [=](rate_atom, double records_per_second) {
      auto& st = self->state;
      try {
        st.info.rate_limit = st.rcv->update_rate(records_per_second);
        tell_listeners(self, listener_event::kind::receiver_rate_updated);
      } catch (const std::exception& e) {
        st.log->error("receiver {}: on_rate_update threw: {}",
                      st.rcv->stream_id(), e.what());
      }
    },
  };
}

} // namespace

caf::actor spawn_receiver_supervisor(caf::actor_system& sys,
                                     std::shared_ptr<receiver_base> rcv,
                                     std::shared_ptr<clock> clk,
                                     duration restart_delay,
                                     int32_t stream_id, std::string name,
                                     std::string location,
                                     caf::actor listener_bus,
                                     std::shared_ptr<runtime_state> runtime) {
  return sys.spawn<caf::detached>(receiver_supervisor, std::move(rcv),
                                  std::move(clk), restart_delay, stream_id,
                                  std::move(name), std::move(location),
                                  std::move(listener_bus), std::move(runtime));
}

} // namespace caf_stream::actors
