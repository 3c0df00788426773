#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf_stream/scheduler/streaming_listener.hpp"
#include "caf_stream/testing.hpp"

namespace support {

/// A listener that counts completed batches, keeps the failed ones'
/// reasons, the executors added and removed and the tasks each ran, and
/// lets a test (or a bench) wait for the `k`th batch.
class batch_waiter : public caf_stream::streaming_listener {
public:
  void on_batch_completed(const caf_stream::batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    ++completed_;
    if (info.failure_reason)
      failures_.push_back(*info.failure_reason);
    for (const auto& [id, n] : info.tasks) {
      tasks_[id].completed += n.completed;
      tasks_[id].failed += n.failed;
    }
    cv_.notify_all();
  }

  void on_executor_added(const caf_stream::executor_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    executors_.push_back("+" + info.id);
  }

  void on_executor_removed(const caf_stream::executor_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    executors_.push_back("-" + info.id);
  }

  /// The executors added ("+id") and removed ("-id"), in order.
  std::vector<std::string> executors() {
    std::lock_guard<std::mutex> guard{mtx_};
    return executors_;
  }

  /// The tasks each executor ran in the completed batches, by id.
  std::map<std::string, caf_stream::executor_tasks> tasks() {
    std::lock_guard<std::mutex> guard{mtx_};
    return tasks_;
  }

  /// Waits (bounded, for a stuck runtime) for the `k`th batch to complete;
  /// throws if it does not.
  void wait_for(size_t k,
                std::chrono::seconds bound = std::chrono::seconds(120)) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, bound, [&] { return completed_ >= k; }))
      throw std::runtime_error("batch " + std::to_string(k)
                               + " did not complete");
  }

  /// Why batches failed, in order.
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> guard{mtx_};
    return failures_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> failures_;
  std::vector<std::string> executors_;
  std::map<std::string, caf_stream::executor_tasks> tasks_;
  size_t completed_ = 0;
};

/// Cuts 1 s batches on `clk` until `done()` holds, each after the one
/// before completed (`out` counts them; `cut` is the number cut so far), at
/// most `bound` of them (a bound for a stuck test); returns whether `done()`
/// held.
template <class Done>
bool cut_batches_until(caf_stream::testing::manual_clock& clk,
                       batch_waiter& out, size_t& cut, Done done,
                       size_t bound = 20000) {
  for (size_t i = 0; i < bound; ++i) {
    if (done())
      return true;
    clk.advance(std::chrono::seconds(1));
    out.wait_for(++cut);
  }
  return false;
}

} // namespace support
