#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "caf_stream/scheduler/streaming_listener.hpp"

namespace support {

/// What a child program's outputs made of each batch (a `Result` per batch
/// time), and the wait for a batch to complete.
template <class Result>
class batch_results final : public caf_stream::streaming_listener {
public:
  /// Calls `f(result of batch t)` (from an output of batch `t`).
  template <class F>
  void update(int64_t t, F f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(results_[t]);
  }

  void on_batch_completed(const caf_stream::batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    last_ = info.batch_time.milliseconds();
    cv_.notify_all();
  }

  /// Waits until batch `t` completed (the clock moved there), for a bounded
  /// time in case the runtime is stuck; none after that.
  std::optional<Result> wait_for(int64_t t) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds(60),
                      [&] { return last_ >= t; }))
      return std::nullopt;
    return results_[t];
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<int64_t, Result> results_;
  int64_t last_ = 0;
};

} // namespace support
