#pragma once

/// Actors in and out of streams (Spark 1.x's `actorStream`, done the CAF
/// way): `auto [stream, handle] = ssc.actor_stream<T>(name)` gives a stream
/// fed by whatever actors send `handle`, and `stream.send_to(actor)` sends
/// an actor each batch's records.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/others.hpp"
#include "caf/send.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/dstream.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/receiver.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

/// Between an actor stream's actor and its receiver: the actor stores
/// through it while the receiver runs, waits while the receiver is not
/// running (before the start, during a restart), and is refused once the
/// context stopped.
template <class T>
class actor_stream_gate {
public:
  /// Stores `x` (a record or a vector of records, which becomes a block of
  /// its own); returns false once the context stopped. With `answered`
  /// (the sender waits for an answer) and the write-ahead log on, a single
  /// record becomes a block of its own too, so that it is logged before
  /// the answer goes out.
  template <class X>
  bool store(X&& x, bool answered) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait(guard, [this] { return rcv_ != nullptr || closed_; });
    if (closed_)
      return false;
    // Waits for the rate limit; a stopping receiver lets it pass.
    if constexpr (std::is_same_v<std::decay_t<X>, T>) {
      if (answered && rcv_->logs_blocks()) {
        std::vector<T> block;
        block.push_back(std::forward<X>(x));
        rcv_->store(std::move(block));
        return true;
      }
    }
    rcv_->store(std::forward<X>(x));
    return true;
  }

  /// The receiver started.
  void open(receiver<T>* rcv) {
    std::lock_guard<std::mutex> guard{mtx_};
    rcv_ = rcv;
    cv_.notify_all();
  }

  /// The receiver stopped (it may start again).
  void shut() {
    std::lock_guard<std::mutex> guard{mtx_};
    rcv_ = nullptr;
  }

  /// The context stopped: every `store` from now on is refused.
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    rcv_ = nullptr;
    closed_ = true;
    cv_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  receiver<T>* rcv_ = nullptr;
  bool closed_ = false;
};

/// The receiver of an actor stream: lets its actor store while it runs.
template <class T>
class actor_stream_receiver final : public receiver<T> {
public:
  explicit actor_stream_receiver(std::shared_ptr<actor_stream_gate<T>> gate)
    : gate_(std::move(gate)) {
    // nop
  }

  ~actor_stream_receiver() override {
    gate_->shut();
  }

  void on_start() override {
    gate_->open(this);
  }

  void on_stop() override {
    gate_->shut();
  }

  // The actors that hold the stream's handle send to this process.
  bool driver_only() const noexcept override {
    return true;
  }

private:
  std::shared_ptr<actor_stream_gate<T>> gate_;
};

/// The error a request to a stopped actor stream gets.
caf::error actor_stream_stopped(const std::string& name);

/// Logs records that a plain `send` delivered after the context stopped.
void actor_stream_dropped(const std::string& name, size_t records);

/// Logs a `store` of `records` records that threw `what`; returns the error
/// a request for them gets.
caf::error actor_stream_store_failed(const std::string& name, size_t records,
                                     bool answered, const std::string& what);

/// Logs a message of a type the actor stream does not take.
caf::error actor_stream_unexpected(const std::string& name,
                                   const caf::message_view& x);

/// The actor behind an actor stream's handle (detached: `store` may wait
/// for the rate). Answers a request with the number of records stored.
template <class T>
void actor_stream_actor(caf::blocking_actor* self,
                        std::shared_ptr<actor_stream_gate<T>> gate,
                        std::string name) {
  auto store = [&](auto&& x, size_t n) {
    auto rp = self->make_response_promise();
    bool stored = false;
    try {
      stored = gate->store(std::forward<decltype(x)>(x), !rp.async());
    } catch (const std::exception& e) {
      // The records were not stored (their block is not in the write-ahead
      // log, say): the sender of a request learns it and can send them again.
      auto err = actor_stream_store_failed(name, n, !rp.async(), e.what());
      if (!rp.async())
        rp.deliver(std::move(err));
      return;
    }
    if (stored) {
      if (!rp.async())
        rp.deliver(static_cast<uint64_t>(n));
    } else if (!rp.async()) {
      rp.deliver(actor_stream_stopped(name));
    } else {
      actor_stream_dropped(name, n);
    }
  };
  bool running = true;
  self->receive_while(running)(
    [&](T& x) { store(std::move(x), 1); },
    [&](std::vector<T>& xs) {
      auto n = xs.size();
      store(std::move(xs), n);
    },
    [&](caf::exit_msg&) { running = false; },
    caf::others >> [&](caf::message_view& x) -> caf::result<caf::message> {
      return actor_stream_unexpected(name, x);
    });
}

/// Watches the actor a `send_to` output sends to: the reason it went down,
/// once it did.
class actor_watch {
public:
  /// Starts watching `dst` (throws `std::invalid_argument` if it is null).
  explicit actor_watch(const caf::actor& dst);

  /// Why the actor went down, or none while it lives.
  std::optional<std::string> gone() const;

private:
  struct state;
  std::shared_ptr<state> state_;
};

[[noreturn]] void throw_actor_gone(const std::string& reason);

template <>
struct actor_output<caf::actor> {
  static constexpr bool defined = true;

  template <class U>
  static auto make(const caf::actor& dst) {
    auto watch = std::make_shared<actor_watch>(dst);
    return [dst, watch](time t, std::vector<U> xs) {
      if (auto reason = watch->gone())
        throw_actor_gone(*reason);
      caf::anon_send(dst, t, std::move(xs));
    };
  }
};

} // namespace caf_stream::detail

namespace caf_stream {

template <class T>
std::pair<dstream<T>, caf::actor>
streaming_context::actor_stream(const std::string& name) {
  auto gate = std::make_shared<detail::actor_stream_gate<T>>();
  // The actor ends with the context; until it exists the hook has nothing
  // to end (the stream is added first, as adding it may throw).
  auto hdl = std::make_shared<caf::actor>();
  auto stream = add_receiver<T>(
    std::make_unique<detail::actor_stream_receiver<T>>(gate), "actor_stream",
    [gate, hdl] {
      gate->close();
      if (*hdl)
        caf::anon_send_exit(*hdl, caf::exit_reason::user_shutdown);
    });
  *hdl = system().spawn<caf::detached>(detail::actor_stream_actor<T>, gate,
                                       name);
  return {std::move(stream), *hdl};
}

} // namespace caf_stream
