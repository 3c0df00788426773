#pragma once

#include <deque>
#include <mutex>
#include <optional>

#include "caf_stream/dstream/receiver_input.hpp"

namespace caf_stream {

/// The queue behind `queue_stream` (Spark's `Queue[RDD[T]]`): push RDDs from
/// any thread; each batch takes one (or all) of them.
template <class T>
class rdd_queue {
public:
  /// Appends an RDD.
  void push(rdd<T> x) {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(std::move(x));
  }

  /// The number of RDDs waiting.
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return items_.size();
  }

  /// Takes the oldest RDD, or all of them as one union, or none if empty.
  std::optional<rdd<T>> take(bool one_at_a_time) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (items_.empty())
      return std::nullopt;
    auto result = std::move(items_.front());
    items_.pop_front();
    if (!one_at_a_time)
      for (; !items_.empty(); items_.pop_front())
        result = result.union_with(items_.front());
    return result;
  }

private:
  mutable std::mutex mtx_;
  std::deque<rdd<T>> items_;
};

namespace detail {

/// Spark's QueueInputDStream.
template <class T>
class queue_input_node final : public generated_input_node<T> {
public:
  queue_input_node(dstream_graph& graph, duration slide,
                   std::shared_ptr<rdd_queue<T>> queue, bool one_at_a_time,
                   std::optional<rdd<T>> default_rdd)
    : generated_input_node<T>(graph, slide),
      queue_(std::move(queue)),
      one_at_a_time_(one_at_a_time),
      default_rdd_(std::move(default_rdd)) {
    // nop
  }

  const char* name() const noexcept override {
    return "queue_stream";
  }

protected:
  std::pair<rdd<T>, int64_t> next(time) override {
    if (auto x = queue_->take(one_at_a_time_))
      return {std::move(*x), 0};
    return {default_rdd_ ? *default_rdd_ : rdd<T>{}, 0};
  }

private:
  std::shared_ptr<rdd_queue<T>> queue_;
  bool one_at_a_time_;
  std::optional<rdd<T>> default_rdd_;
};

} // namespace detail
} // namespace caf_stream
