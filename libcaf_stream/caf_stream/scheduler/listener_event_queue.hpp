#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/scheduler/checkpoint_info.hpp"
#include "caf_stream/scheduler/executor_info.hpp"
#include "caf_stream/scheduler/receiver_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

class streaming_listener;

/// One event for the streaming listeners (Spark's
/// `StreamingListenerBatchSubmitted`, `...Started`, `...Completed`,
/// `StreamingListenerReceiverStarted`, `...Error`, `...Stopped`,
/// `StreamingListenerStreamingStarted`,
/// `StreamingListenerOutputOperationStarted` and `...Completed`; and ours:
/// a receiver's rate limit, a checkpoint written; and Spark's
/// `SparkListenerExecutorAdded` and `...Removed`).
struct listener_event {
  enum class kind : uint8_t {
    batch_submitted,
    batch_started,
    batch_completed,
    receiver_started,
    receiver_error,
    receiver_stopped,
    receiver_rate_updated,
    checkpoint_written,
    executor_added,
    executor_removed,
    streaming_started,
    output_operation_started,
    output_operation_completed,
  };

  kind what = kind::batch_submitted;
  /// The batch of a batch event.
  batch_info info;
  /// The receiver of a receiver event.
  receiver_info receiver;
  /// The checkpoint of a checkpoint event.
  checkpoint_info checkpoint;
  /// The executor of an executor event.
  executor_info executor;
  /// The output operation of an output operation event.
  output_operation_info output;
  /// When the context started, for `streaming_started`.
  time started_at;

  /// Calls `x`'s handler for this event.
  void deliver_to(streaming_listener& x) const;
};

/// The event queue of Spark's StreamingListenerBus: holds the events that
/// listeners have not seen yet, up to a capacity, so that a slow listener
/// delays neither batch generation nor processing and costs bounded memory.
/// A full queue drops new events (and counts them) instead of blocking.
class listener_event_queue {
public:
  explicit listener_event_queue(size_t capacity) : capacity_(capacity) {
    // nop
  }

  /// Queues `x`; returns false if the queue is full and `x` was dropped.
  bool push(listener_event x);

  /// Takes the oldest event, if any.
  std::optional<listener_event> pop();

  bool empty() const noexcept {
    return events_.empty();
  }

  size_t size() const noexcept {
    return events_.size();
  }

  size_t capacity() const noexcept {
    return capacity_;
  }

  /// The events dropped so far.
  uint64_t dropped() const noexcept {
    return dropped_;
  }

private:
  size_t capacity_;
  std::deque<listener_event> events_;
  uint64_t dropped_ = 0;
};

} // namespace caf_stream
