#include "caf_stream/scheduler/listener_event_queue.hpp"

#include <utility>

#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf_stream {

void listener_event::deliver_to(streaming_listener& x) const {
  switch (what) {
    case kind::batch_submitted:
      x.on_batch_submitted(info);
      break;
    case kind::batch_started:
      x.on_batch_started(info);
      break;
    case kind::batch_completed:
      x.on_batch_completed(info);
      break;
    case kind::receiver_started:
      x.on_receiver_started(receiver);
      break;
    case kind::receiver_error:
      x.on_receiver_error(receiver);
      break;
    case kind::receiver_stopped:
      x.on_receiver_stopped(receiver);
      break;
    case kind::receiver_rate_updated:
      x.on_receiver_rate_updated(receiver);
      break;
    case kind::checkpoint_written:
      x.on_checkpoint_written(checkpoint);
      break;
    case kind::executor_added:
      x.on_executor_added(executor);
      break;
    case kind::executor_removed:
      x.on_executor_removed(executor);
      break;
    case kind::streaming_started:
      x.on_streaming_started(started_at);
      break;
    case kind::output_operation_started:
      x.on_output_operation_started(output);
      break;
    case kind::output_operation_completed:
      x.on_output_operation_completed(output);
      break;
  }
}

bool listener_event_queue::push(listener_event x) {
  if (events_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  events_.push_back(std::move(x));
  return true;
}

std::optional<listener_event> listener_event_queue::pop() {
  if (events_.empty())
    return std::nullopt;
  auto result = std::move(events_.front());
  events_.pop_front();
  return result;
}

} // namespace caf_stream
