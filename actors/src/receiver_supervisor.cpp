#include <utility>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/send.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/receiver_supervisor.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/receiver/receiver.hpp"

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

/// Runs on a thread of its own: a blocking actor, as the checkpoint writer
/// and the listener bus are, since CAF 0.17 can hang its shutdown on a
/// detached event-based actor (CAF issue 1196).
class receiver_supervisor final : public caf::blocking_actor {
public:
  receiver_supervisor(caf::actor_config& cfg,
                      std::shared_ptr<receiver_base> rcv,
                      std::shared_ptr<caf_stream::clock> clk,
                      duration restart_delay, int32_t stream_id,
                      std::string name, std::string location,
                      caf::actor listener_bus,
                      std::shared_ptr<runtime_state> runtime)
    : caf::blocking_actor(cfg),
      rcv_(std::move(rcv)),
      clk_(std::move(clk)),
      restart_delay_(restart_delay),
      listener_bus_(std::move(listener_bus)),
      runtime_(std::move(runtime)),
      log_(detail::logger("receiver")) {
    info_.stream_id = stream_id;
    info_.name = std::move(name);
    info_.location = std::move(location);
  }

  void act() override {
    rcv_->attach(std::make_shared<supervisor_host>(
                   caf::weak_actor_ptr{ctrl()}),
                 info_.stream_id);
    bool running = true;
    receive_while(running)(
      [&](start_atom) { start_receiver(); },
      [&](restart_atom, const std::string& message, int64_t delay_ms) {
        restart(message, delay_ms);
      },
      [&](stop_atom, const std::string& message) {
        stop_for_good(message);
        return caf::unit;
      },
      [&](error_atom, const std::string& message) {
        log_->error("receiver {}: {}", rcv_->stream_id(), message);
        note_error(message);
      },
      [&](rate_atom, double records_per_second) {
        update_rate(records_per_second);
      },
      [&](caf::exit_msg& msg) {
        call_off_restart();
        stop_receiver();
        fail_state(std::move(msg.reason));
        running = false;
      });
  }

  const char* name() const override {
    return "caf_stream.receiver_supervisor";
  }

private:
  void start_receiver() {
    if (stopped_for_good_ || running_)
      return;
    rcv_->set_stopped(false);
    running_ = true;
    restart_due_ = false;
    try {
      rcv_->on_start();
      log_->info("receiver {} started", rcv_->stream_id());
      info_.active = true;
      tell_listeners(listener_event::kind::receiver_started);
    } catch (const std::exception& e) {
      rcv_->restart(std::string{"on_start threw: "} + e.what());
    }
  }

  void stop_receiver() {
    rcv_->set_stopped(true);
    if (!running_)
      return;
    running_ = false;
    try {
      rcv_->on_stop();
    } catch (const std::exception& e) {
      log_->error("receiver {}: on_stop threw: {}", rcv_->stream_id(),
                  e.what());
    }
  }

  void restart(const std::string& message, int64_t delay_ms) {
    if (stopped_for_good_)
      return;
    auto delay = delay_ms >= 0 ? duration{delay_ms} : restart_delay_;
    log_->warn("restarting receiver {} in {} ms: {}", rcv_->stream_id(),
               delay.count(), message);
    stop_receiver();
    info_.active = false;
    // The restart is due before anyone hears of the error (a test that
    // hears of it moves its manual clock past the delay).
    send_at(this, *clk_, clk_->now() + delay, start_atom::value);
    restart_due_ = true;
    note_error(message);
  }

  // A restart that is due does not come: the receiver stops first (its
  // node's driver went down, say, which also ended the receiver's source).
  void call_off_restart() {
    if (std::exchange(restart_due_, false))
      log_->info("receiver {}: its restart is called off, as it stops",
                 rcv_->stream_id());
  }

  void stop_for_good(const std::string& message) {
    if (!message.empty())
      log_->info("stopping receiver {}: {}", rcv_->stream_id(), message);
    call_off_restart();
    auto was_active = info_.active;
    stopped_for_good_ = true;
    stop_receiver();
    info_.active = false;
    if (was_active)
      tell_listeners(listener_event::kind::receiver_stopped);
  }

  void update_rate(double records_per_second) {
    try {
      info_.rate_limit = rcv_->update_rate(records_per_second);
      tell_listeners(listener_event::kind::receiver_rate_updated);
    } catch (const std::exception& e) {
      log_->error("receiver {}: on_rate_update threw: {}", rcv_->stream_id(),
                  e.what());
    }
  }

  void note_error(const std::string& message) {
    info_.last_error = message;
    info_.last_error_time = clk_->now();
    tell_listeners(listener_event::kind::receiver_error);
  }

  // Each event costs the bus a wake-up: none while nobody listens. On a
  // worker node (no runtime) the driver's bus decides.
  void tell_listeners(listener_event::kind what) {
    if (runtime_ && !runtime_->has_listeners())
      return;
    listener_event event;
    event.what = what;
    event.receiver = info_;
    send(listener_bus_, std::move(event));
  }

  std::shared_ptr<receiver_base> rcv_;
  std::shared_ptr<caf_stream::clock> clk_;
  duration restart_delay_;
  caf::actor listener_bus_;
  std::shared_ptr<runtime_state> runtime_;
  std::shared_ptr<spdlog::logger> log_;
  bool running_ = false;
  bool stopped_for_good_ = false;
  // Whether a restart is due (`restart` scheduled its start).
  bool restart_due_ = false;
  // What the receiver events tell the listeners.
  receiver_info info_;
};

} // namespace

caf::actor spawn_receiver_supervisor(caf::actor_system& sys,
                                     std::shared_ptr<receiver_base> rcv,
                                     std::shared_ptr<clock> clk,
                                     duration restart_delay,
                                     int32_t stream_id, std::string name,
                                     std::string location,
                                     caf::actor listener_bus,
                                     std::shared_ptr<runtime_state> runtime) {
  return sys.spawn<receiver_supervisor, caf::detached>(
    std::move(rcv), std::move(clk), restart_delay, stream_id, std::move(name),
    std::move(location), std::move(listener_bus), std::move(runtime));
}

} // namespace caf_stream::actors
