#include "caf_stream/actors/checkpoint_writer.hpp"

#include <chrono>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/checkpoint/checkpoint_directory.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

// A blocking actor, not a detached event-based one: CAF 0.17's private
// threads of detached event-based actors can keep the actor alive past its
// end and hang the actor system's shutdown (CAF issue 1196, fixed in 0.18).
class checkpoint_writer final : public caf::blocking_actor {
public:
  checkpoint_writer(
    caf::actor_config& cfg, std::string directory, size_t keep,
    caf::actor listener_bus, std::shared_ptr<runtime_state> runtime,
    std::function<void(const detail::checkpoint_record&)> written)
    : caf::blocking_actor(cfg),
      files_(std::move(directory), keep),
      listener_bus_(std::move(listener_bus)),
      runtime_(std::move(runtime)),
      written_(std::move(written)),
      log_(detail::logger("checkpoint")) {
    // nop
  }

  // Writes when the records that came meanwhile are in: a writer that falls
  // behind the batches skips the records newer ones supersede.
  void act() override {
    bool running = true;
    std::vector<caf::response_promise> drains;
    auto take = [&](detail::checkpoint_record& x) {
      pending_.add(std::move(x));
    };
    auto drain = [&](drain_atom) { drains.push_back(make_response_promise()); };
    auto quit = [&](caf::exit_msg&) { running = false; };
    while (running) {
      receive(take, drain, quit);
      for (bool more = running; more;)
        receive(take, drain, quit,
                caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
      write_pending();
      for (auto& rp : drains)
        rp.deliver(failed_, last_failure_);
      drains.clear();
    }
  }

  const char* name() const override {
    return "caf_stream.checkpoint_writer";
  }

private:
  // A failed checkpoint is logged, not fatal: the batch's results stand and
  // the next checkpoint may succeed (a full disk, ...).
  void write_pending() {
    for (auto& x : pending_.take()) {
      auto start = std::chrono::steady_clock::now();
      try {
        files_.write(x);
        last_failure_.clear();
        log_->debug("checkpoint of batch {} ms written{}", x.time_ms,
                    x.has_data() ? " with state" : "");
      } catch (const std::exception& e) {
        ++failed_;
        last_failure_ = "checkpoint of batch " + std::to_string(x.time_ms)
                        + " ms failed: " + e.what();
        log_->error("{}", last_failure_);
      }
      tell_listeners(x, std::chrono::steady_clock::now() - start);
      if (!last_failure_.empty())
        continue;
      if (!written_)
        continue;
      try {
        written_(x);
      } catch (const std::exception& e) {
        log_->error("after the checkpoint of batch {} ms: {}", x.time_ms,
                    e.what());
      }
    }
  }

  // Reports the write of `x`, which took `took`, to the listener bus.
  void tell_listeners(const detail::checkpoint_record& x,
                      std::chrono::steady_clock::duration took) {
    if (!listener_bus_ || (runtime_ && !runtime_->has_listeners()))
      return;
    listener_event event;
    event.what = listener_event::kind::checkpoint_written;
    event.checkpoint.batch_time = time{x.time_ms};
    event.checkpoint.with_data = x.has_data();
    event.checkpoint.write_time
      = std::chrono::duration_cast<std::chrono::microseconds>(took);
    if (!last_failure_.empty())
      event.checkpoint.failure_reason = last_failure_;
    send(listener_bus_, std::move(event));
  }

  detail::checkpoint_directory files_;
  caf::actor listener_bus_;
  std::shared_ptr<runtime_state> runtime_;
  std::function<void(const detail::checkpoint_record&)> written_;
  // Records that came in since the last write, less superseded ones.
  detail::pending_checkpoints pending_;
  uint64_t failed_ = 0;
  // Why the last record written failed ("" if it was written).
  std::string last_failure_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_checkpoint_writer(
  caf::actor_system& sys, std::string directory, size_t keep,
  caf::actor listener_bus, std::shared_ptr<runtime_state> runtime,
  std::function<void(const detail::checkpoint_record&)> written) {
  return sys.spawn<checkpoint_writer, caf::detached>(
    std::move(directory), keep, std::move(listener_bus), std::move(runtime),
    std::move(written));
}

} // namespace caf_stream::actors
