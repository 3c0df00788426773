#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"

namespace caf_stream {

namespace detail {

/// The runtime's side of a receiver (its supervisor), told of the calls a
/// receiver makes on itself. Implementations may be called from any thread.
class receiver_host {
public:
  virtual ~receiver_host();

  virtual void restart(const std::string& message,
                       std::optional<duration> delay)
    = 0;

  virtual void stop(const std::string& message) = 0;

  virtual void report_error(const std::string& message) = 0;
};

} // namespace detail

/// The part of `receiver<T>` that does not depend on the record type.
class receiver_base {
public:
  virtual ~receiver_base();

  /// Starts receiving. Must not block: start a thread that calls `store`.
  virtual void on_start() = 0;

  /// Stops receiving: end what `on_start` started (join its thread).
  virtual void on_stop() = 0;

  /// Asks the runtime to stop this receiver and start it again after
  /// `stream.receiver.restart-delay` (Spark's `receiverRestartDelay`).
  void restart(const std::string& message);

  /// Like `restart(message)`, after `delay` instead of the configured delay.
  void restart(const std::string& message, duration delay);

  /// Asks the runtime to stop this receiver for good.
  void stop(const std::string& message);

  /// Reports a problem to the runtime (logged; the receiver keeps running).
  void report_error(const std::string& message);

  /// Returns whether the receiver is stopped, or stopping: a receiving loop
  /// checks it and ends when it turns true.
  bool is_stopped() const noexcept {
    return stopped_.load();
  }

  /// Returns whether the receiver was started and is not stopped.
  bool is_started() const noexcept {
    return !stopped_.load();
  }

  /// Called each time the stream's rate controller sets the rate `store` is
  /// held to (backpressure), with that rate in records per second, capped
  /// at `stream.receiver.max-rate`. `store` keeps to it by itself; a
  /// receiver that can also slow its source (a smaller fetch, a longer
  /// poll) may follow it there. Runs on the runtime's thread: return
  /// quickly. Does nothing by default.
  virtual void on_rate_update(double records_per_second);

  /// Whether the receiver must run in the driver's process, because it
  /// talks to something there (as `actor_stream`'s receiver does to the
  /// actors holding its stream's handle): it is never placed on a worker
  /// node (`stream.receiver.placement`). False by default.
  virtual bool driver_only() const noexcept;

  /// The id of the input stream this receiver feeds.
  int32_t stream_id() const noexcept {
    return stream_id_;
  }

  /// Runtime side: connects the receiver to its supervisor.
  void attach(std::shared_ptr<detail::receiver_host> host, int32_t stream_id);

  /// Runtime side: marks the receiver as running or stopped.
  void set_stopped(bool value) noexcept {
    stopped_ = value;
    on_stopped_changed(value);
  }

  /// Runtime side: holds `store` to a rate controller's rate, then calls
  /// `on_rate_update` with the rate in force; returns that rate (none:
  /// unlimited).
  std::optional<double> update_rate(double records_per_second);

protected:
  /// Called when the receiver starts or stops (a stopping receiver's
  /// `store` calls no longer wait for the rate limiter).
  virtual void on_stopped_changed(bool stopped) noexcept;

  /// Holds `store` to the rate; returns the rate in force (none: unlimited).
  virtual std::optional<double> apply_rate(double records_per_second) = 0;

private:
  std::shared_ptr<detail::receiver_host> host_;
  int32_t stream_id_ = -1;
  std::atomic<bool> stopped_{true};
};

/// Base class of custom receivers (Spark's `Receiver[T]`): implement
/// `on_start` and `on_stop`, call `store` with what arrives. Records stored
/// one by one are sealed into blocks every `stream.block-interval`; a vector
/// passed to `store` becomes a block of its own.
template <class T>
class receiver : public receiver_base {
public:
  using value_type = T;

  /// Stores one record.
  void store(const T& x) {
    buffer().push(x);
  }

  /// Stores one record.
  void store(T&& x) {
    buffer().push(std::move(x));
  }

  /// Stores the records as one block. Throws `stream_error` if the block
  /// cannot be stored (with the write-ahead log on, when it cannot be
  /// logged): the records count as not stored, so a reliable receiver does
  /// not acknowledge them to its source.
  void store(std::vector<T> xs) {
    buffer().push_block(std::move(xs));
  }

  /// Stores `count` lines at once (a `receiver<std::string>` only): `size`
  /// bytes as they arrived, each line ending in '\n' (a '\r' before it is
  /// dropped). The bytes join the block being collected, and the tasks that
  /// read the block cut them into strings, in parallel: a text receiver
  /// hands over whole reads instead of building a string per line.
  void store_lines(const char* data, size_t size, int64_t count) {
    buffer().push_lines(data, size, count);
  }

  /// Returns whether the stream's blocks go to the receiver write-ahead log
  /// (`stream.receiver.write-ahead-log.enable`; known once the receiver
  /// started). A vector passed to `store` is logged before `store` returns;
  /// records stored one by one are logged when their block is sealed. A
  /// reliable receiver, which acknowledges to its source what it stored,
  /// stores what it acknowledges as vectors while this is true.
  bool logs_blocks() const noexcept {
    return buffer_ != nullptr && buffer_->logged();
  }

  /// Runtime side: the buffer `store` writes to.
  void attach_buffer(std::shared_ptr<detail::block_buffer<T>> buf) {
    buffer_ = std::move(buf);
  }

protected:
  void on_stopped_changed(bool stopped) noexcept override {
    if (buffer_)
      buffer_->set_draining(stopped);
  }

  std::optional<double> apply_rate(double records_per_second) override {
    auto& buf = buffer();
    buf.update_rate(records_per_second);
    return buf.rate();
  }

private:
  detail::block_buffer<T>& buffer();

  std::shared_ptr<detail::block_buffer<T>> buffer_;
};

namespace detail {

[[noreturn]] void throw_store_before_start();

} // namespace detail

template <class T>
detail::block_buffer<T>& receiver<T>::buffer() {
  if (!buffer_)
    detail::throw_store_before_start();
  return *buffer_;
}

} // namespace caf_stream
