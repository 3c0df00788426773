#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "caf_stream/testing.hpp"

namespace caf_stream::test {

/// Runs a started context batch by batch under its manual clock and keeps
/// what its output collected. Sources that receive on their own threads are
/// driven by cutting batches until the expected data arrived (bounded),
/// never by sleeping.
template <class T>
class pipeline {
public:
  explicit pipeline(stream_options opts = testing::default_test_options(),
                    caf_stream::time start = caf_stream::time{0})
    : clk_(std::make_shared<testing::manual_clock>(start)),
      ssc_(std::chrono::seconds(1), opts, clk_),
      batches_(std::make_shared<collector>()) {
    ssc_.add_streaming_listener(batches_);
  }

  streaming_context& context() {
    return ssc_;
  }

  testing::manual_clock& clock() {
    return *clk_;
  }

  void collect(const dstream<T>& s) {
    auto c = batches_;
    s.foreach_rdd([c](const rdd<T>& x) { c->add(x.collect()); });
  }

  /// Cuts one batch and waits for it to complete.
  void next_batch() {
    clk_->advance(std::chrono::seconds(1));
    batches_->wait_for(++cut_);
  }

  /// Cuts batches until `pred(all elements so far)` holds, at most `max`.
  bool run_until(std::function<bool(const std::vector<T>&)> pred,
                 size_t max = 3000) {
    for (size_t i = 0; i < max; ++i) {
      next_batch();
      if (pred(elements()))
        return true;
    }
    return false;
  }

  std::vector<T> elements() {
    std::vector<T> result;
    for (auto& b : batches_->outputs())
      result.insert(result.end(), b.begin(), b.end());
    return result;
  }

  std::vector<std::vector<T>> outputs() {
    return batches_->outputs();
  }

  std::vector<batch_info> infos() {
    return batches_->infos();
  }

private:
  class collector final : public streaming_listener {
  public:
    void add(std::vector<T> xs) {
      std::lock_guard<std::mutex> guard{mtx_};
      outputs_.push_back(std::move(xs));
    }
    void on_batch_completed(const batch_info& info) override {
      std::lock_guard<std::mutex> guard{mtx_};
      infos_.push_back(info);
      cv_.notify_all();
    }
    void wait_for(size_t n) {
      std::unique_lock<std::mutex> guard{mtx_};
      if (!cv_.wait_for(guard, std::chrono::seconds(120),
                        [&] { return infos_.size() >= n; }))
        throw std::runtime_error("batch did not complete");
    }
    std::vector<std::vector<T>> outputs() {
      std::lock_guard<std::mutex> guard{mtx_};
      return outputs_;
    }
    std::vector<batch_info> infos() {
      std::lock_guard<std::mutex> guard{mtx_};
      return infos_;
    }

  private:
    std::mutex mtx_;
    std::condition_variable cv_;
    std::vector<std::vector<T>> outputs_;
    std::vector<batch_info> infos_;
  };

  std::shared_ptr<testing::manual_clock> clk_;
  streaming_context ssc_;
  std::shared_ptr<collector> batches_;
  size_t cut_ = 0;
};

} // namespace caf_stream::test
