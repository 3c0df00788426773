#pragma once

#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include "caf_stream/receiver/receiver.hpp"

namespace caf_stream::testing {

/// A receiver that a test (or a benchmark) stores into from its own thread:
/// `push` waits until the runtime started the receiver, then stores the
/// records as one block, returning once they are stored (with the receiver
/// write-ahead log, once they are logged).
template <class T>
class push_receiver final : public receiver<T> {
public:
  void on_start() override {
    std::lock_guard<std::mutex> guard{mtx_};
    started_ = true;
    cv_.notify_all();
  }

  void on_stop() override {
    // nop
  }

  /// Stores `xs` as one block, once the receiver runs.
  void push(std::vector<T> xs) {
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [&] { return started_; });
    }
    this->store(std::move(xs));
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool started_ = false;
};

} // namespace caf_stream::testing
