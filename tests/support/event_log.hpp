#pragma once

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/scheduler/listener_event_queue.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf_stream::test {

/// An event of kind `what` for the batch at `ms`.
inline listener_event make_event(listener_event::kind what, int64_t ms) {
  listener_event result;
  result.what = what;
  result.info.batch_time = time{ms};
  return result;
}

/// Keeps the events listeners get, as "submitted 1000", "started 1000", ...
/// Given a kind ("completed"), the first event of that kind blocks the
/// listener until the test calls `release`: a slow listener.
class event_log final : public streaming_listener {
public:
  explicit event_log(std::string block_on = "")
    : block_on_(std::move(block_on)), released_(release_.get_future()) {
    // nop
  }

  void on_batch_submitted(const batch_info& info) override {
    add("submitted", info);
  }

  void on_batch_started(const batch_info& info) override {
    add("started", info);
  }

  void on_batch_completed(const batch_info& info) override {
    add("completed", info);
  }

  /// Waits until `n` events arrived (up to a minute of real time, a guard
  /// against a hung test, never a way to wait for time); returns the events
  /// so far.
  std::vector<std::string> wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, std::chrono::minutes(1),
                 [&] { return events_.size() >= n; });
    return events_;
  }

  std::vector<std::string> events() {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_;
  }

  std::vector<batch_info> completed() {
    std::lock_guard<std::mutex> guard{mtx_};
    return completed_;
  }

  /// Lets the blocked listener go on.
  void release() {
    release_.set_value();
  }

private:
  void add(const std::string& what, const batch_info& info) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      events_.push_back(what + " "
                        + std::to_string(info.batch_time.milliseconds()));
      if (what == "completed")
        completed_.push_back(info);
      cv_.notify_all();
    }
    if (what == block_on_ && !blocked_) {
      blocked_ = true;
      released_.wait_for(std::chrono::minutes(1));
    }
  }

  std::string block_on_;
  bool blocked_ = false;
  std::promise<void> release_;
  std::future<void> released_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::vector<batch_info> completed_;
};

} // namespace caf_stream::test
