#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
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
    batches_->wait_for_batches(++cut_, false);
  }

  /// Starts the context, cuts `n` batches, waiting for each, and stops it:
  /// the whole run of a graph whose input is known in advance.
  void run(size_t n) {
    ssc_.start();
    for (size_t i = 0; i < n; ++i)
      next_batch();
    ssc_.stop();
  }

  /// Stops the context gracefully: it waits for the batch after the
  /// receivers stopped, so the clock moves on until the stop returns.
  void stop_gracefully() {
    auto stopping = std::async(std::launch::async,
                               [this] { ssc_.stop(true); });
    while (stopping.wait_for(std::chrono::milliseconds(10))
           != std::future_status::ready)
      clk_->advance(std::chrono::seconds(1));
    stopping.get();
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
  using collector = testing::detail::output_collector<T>;

  std::shared_ptr<testing::manual_clock> clk_;
  streaming_context ssc_;
  std::shared_ptr<collector> batches_;
  size_t cut_ = 0;
};

} // namespace caf_stream::test
