#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/testing/fixtures.hpp"
#include "caf_stream/testing/manual_clock.hpp"

namespace caf_stream::testing {

namespace detail {

/// Spark's TestInputStream: batch k (k = 1, 2, ...) gets `input[k - 1]`,
/// split into `partitions` partitions; later batches are empty.
template <class T>
class test_input_node final
  : public caf_stream::detail::generated_input_node<T> {
public:
  test_input_node(caf_stream::detail::dstream_graph& graph, duration slide,
                  std::vector<std::vector<T>> input, size_t partitions)
    : caf_stream::detail::generated_input_node<T>(graph, slide),
      input_(std::move(input)),
      partitions_(partitions) {
    // nop
  }

  const char* name() const noexcept override {
    return "test_input_stream";
  }

protected:
  std::pair<rdd<T>, int64_t> next(time t) override {
    auto k = (t - this->zero_time()) / this->slide();
    if (k < 1 || static_cast<size_t>(k) > input_.size())
      return {parallelize(std::vector<T>{}, partitions_), 0};
    const auto& batch = input_[static_cast<size_t>(k - 1)];
    return {parallelize(batch, partitions_), static_cast<int64_t>(batch.size())};
  }

private:
  std::vector<std::vector<T>> input_;
  size_t partitions_;
};

/// Collects the output of each batch and the figures of every completed
/// batch.
template <class T>
class output_collector final : public streaming_listener {
public:
  void add(std::vector<T> xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    outputs_.push_back(std::move(xs));
  }

  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (info.failure_reason && failure_.empty())
      failure_ = *info.failure_reason;
    infos_.push_back(info);
    cv_.notify_all();
  }

  /// Waits until `n` batches completed; throws if the runtime does not
  /// finish them within a generous bound and, with `throw_on_failure`, on a
  /// failed batch.
  void wait_for_batches(size_t n, bool throw_on_failure = true) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto done = [&] {
      return infos_.size() >= n || (throw_on_failure && !failure_.empty());
    };
    if (!cv_.wait_for(guard, std::chrono::seconds(120), done))
      throw stream_error(errc::timeout, "batch " + std::to_string(n)
                                          + " did not complete");
    if (throw_on_failure && !failure_.empty())
      throw stream_error(errc::job_failure, failure_);
  }

  std::vector<std::vector<T>> outputs() {
    std::lock_guard<std::mutex> guard{mtx_};
    return outputs_;
  }

  std::vector<batch_info> infos() {
    std::lock_guard<std::mutex> guard{mtx_};
    return infos_;
  }

  std::vector<std::vector<T>> take() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::move(outputs_);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::string failure_;
  std::vector<std::vector<T>> outputs_;
  std::vector<batch_info> infos_;
};

template <class T>
dstream<T> add_test_input(streaming_context& ssc,
                          std::vector<std::vector<T>> input,
                          size_t partitions) {
  auto& graph = ssc.graph();
  auto node = std::make_shared<test_input_node<T>>(
    *graph, ssc.batch_interval(), std::move(input), partitions);
  graph->add_input(node, node);
  return {graph, node};
}

template <class Out, class Build>
std::vector<std::vector<Out>>
run_batches(Build build, size_t num_batches, duration batch_interval,
            const stream_options& opts) {
  auto clk = std::make_shared<manual_clock>();
  temporary_directory checkpoint_dir;
  streaming_context ssc{batch_interval, opts, clk};
  ssc.checkpoint(checkpoint_dir.path());
  auto collector = std::make_shared<output_collector<Out>>();
  ssc.add_streaming_listener(collector);
  auto out = build(ssc);
  out.foreach_rdd(
    [collector](const rdd<Out>& x) { collector->add(x.collect()); });
  // A windowed stream has an output every `slide / batch_interval` batches.
  auto batches_per_output = static_cast<size_t>(out.slide_duration()
                                                / batch_interval);
  ssc.start();
  for (size_t i = 1; i <= num_batches * batches_per_output; ++i) {
    clk->advance(batch_interval);
    collector->wait_for_batches(i);
  }
  ssc.stop();
  return collector->take();
}

} // namespace detail

/// Runs `op(dstream<In>) -> dstream<Out>` on the real actor runtime under a
/// manual clock: batch k gets `input[k - 1]`; returns the first
/// `num_batches` output RDDs, collected (a windowed stream has one every
/// slide, so the run lasts `num_batches` slides). A fresh temporary
/// checkpoint directory is set.
template <class In, class Op>
auto run_operation(std::vector<std::vector<In>> input, Op op,
                   size_t num_batches,
                   duration batch_interval = std::chrono::seconds(1),
                   stream_options opts = default_test_options()) {
  static_assert(std::is_invocable_v<Op, dstream<In>>,
                "run_operation expects op(dstream<In>) -> dstream<Out>");
  using Out = typename std::invoke_result_t<Op, dstream<In>>::value_type;
  auto parts = opts.resolved().default_parallelism;
  return detail::run_batches<Out>(
    [&](streaming_context& ssc) {
      return op(detail::add_test_input(ssc, std::move(input), parts));
    },
    num_batches, batch_interval, opts);
}

/// Like `run_operation` for two input streams:
/// `op(dstream<In1>, dstream<In2>) -> dstream<Out>`.
template <class In1, class In2, class Op>
auto run_operation(std::vector<std::vector<In1>> input1,
                   std::vector<std::vector<In2>> input2, Op op,
                   size_t num_batches,
                   duration batch_interval = std::chrono::seconds(1),
                   stream_options opts = default_test_options()) {
  static_assert(std::is_invocable_v<Op, dstream<In1>, dstream<In2>>,
                "run_operation expects op(dstream<In1>, dstream<In2>) -> "
                "dstream<Out>");
  using Out =
    typename std::invoke_result_t<Op, dstream<In1>, dstream<In2>>::value_type;
  auto parts = opts.resolved().default_parallelism;
  return detail::run_batches<Out>(
    [&](streaming_context& ssc) {
      return op(detail::add_test_input(ssc, std::move(input1), parts),
                detail::add_test_input(ssc, std::move(input2), parts));
    },
    num_batches, batch_interval, opts);
}

} // namespace caf_stream::testing
