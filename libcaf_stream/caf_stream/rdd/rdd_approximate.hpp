#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf_stream/clock.hpp"
#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/rdd/approximate_evaluator.hpp"
#include "caf_stream/rdd/partial_result.hpp"
#include "caf_stream/rdd/rdd_context.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/rdd/stat_counter.hpp"

namespace caf_stream::detail {

/// When an approximate action's timeout passes: on the clock of the
/// streaming context whose RDD it is (a test's manual clock), else on
/// `std::chrono::steady_clock`.
class action_deadline {
public:
  action_deadline(const rdd_context* context, duration timeout)
    : clock_(context != nullptr ? context->get_clock() : nullptr) {
    if (clock_ != nullptr)
      at_ = clock_->now() + timeout;
    else
      steady_at_ = std::chrono::steady_clock::now() + timeout;
  }

  bool passed() const {
    if (clock_ != nullptr)
      return clock_->now() >= at_;
    return std::chrono::steady_clock::now() >= steady_at_;
  }

private:
  const clock* clock_;
  time at_;
  std::chrono::steady_clock::time_point steady_at_;
};

/// Spark's approximate actions of an RDD, which `rdd<T>` (`Rdd`) gets from
/// here. Each runs a task per partition on the RDD's runner; a task that
/// would start after `timeout` does not run, so the action returns once
/// the tasks that started by then finished (Spark returns at the timeout
/// and lets them run on), with the estimate from the partitions computed.
/// The result's `get_final_value` computes the others. A confidence
/// outside [0, 1] is refused at the call, as Spark refuses it.
template <class Rdd, class T>
class rdd_approximate {
public:
  /// Spark's `countApprox`: the number of records.
  partial_result<bounded_double>
  count_approx(duration timeout, double confidence = 0.95) const {
    check_confidence("count_approx", confidence);
    return approximate<count_evaluator>(
      timeout, confidence,
      [](const rdd_node<T>& n, size_t i) { return n.count_records(i); });
  }

  /// Spark's `countByValueApprox`: each distinct record's count.
  auto count_by_value_approx(duration timeout,
                             double confidence = 0.95) const {
    check_confidence("count_by_value_approx", confidence);
    using evaluator = grouped_count_evaluator<T, hash<T>>;
    return approximate<evaluator>(
      timeout, confidence, [](const rdd_node<T>& n, size_t i) {
        typename evaluator::counts result;
        n.compute(i, [&](const T& x) { ++result[x]; });
        return result;
      });
  }

  /// Spark's `countByKeyApprox`, on pairs: each key's count of records.
  template <class U = T>
  auto count_by_key_approx(duration timeout,
                           double confidence = 0.95) const {
    static_assert(is_pair_v<U>,
                  "count_by_key_approx needs an RDD of std::pair<K, V>");
    check_confidence("count_by_key_approx", confidence);
    return self().keys().count_by_value_approx(timeout, confidence);
  }

  /// Spark's `sumApprox`, on numbers: their sum.
  partial_result<bounded_double>
  sum_approx(duration timeout, double confidence = 0.95) const {
    return stats_approx<sum_evaluator>("sum_approx", timeout, confidence);
  }

  /// Spark's `meanApprox`, on numbers: their mean.
  partial_result<bounded_double>
  mean_approx(duration timeout, double confidence = 0.95) const {
    return stats_approx<mean_evaluator>("mean_approx", timeout, confidence);
  }

private:
  const Rdd& self() const noexcept {
    return static_cast<const Rdd&>(*this);
  }

  static void check_confidence(const char* action, double confidence) {
    if (!(confidence >= 0.0 && confidence <= 1.0))
      throw std::invalid_argument(std::string{action} + ": confidence ("
                                  + std::to_string(confidence)
                                  + ") must be in [0,1]");
  }

  // `sum_approx` or `mean_approx` (`action`): each partition's numbers
  // in a `stat_counter`.
  template <class Evaluator>
  partial_result<bounded_double>
  stats_approx(const char* action, duration timeout,
               double confidence) const {
    static_assert(std::is_arithmetic_v<T>,
                  "sum_approx and mean_approx need an RDD of numbers");
    check_confidence(action, confidence);
    return approximate<Evaluator>(
      timeout, confidence, [](const rdd_node<T>& n, size_t i) {
        stat_counter result;
        n.compute(i,
                  [&](const T& x) { result.merge(static_cast<double>(x)); });
        return result;
      });
  }

  // Runs `task` over the partitions that start before the timeout passed
  // and merges their results into an `Evaluator`; the final value runs it
  // over the others.
  template <class Evaluator, class Task>
  auto approximate(duration timeout, double confidence, Task task) const {
    using result = decltype(std::declval<Evaluator&>().current_result());
    auto rdd = self();
    action_deadline deadline{rdd.context().get(), timeout};
    auto n = rdd.node()->num_partitions();
    auto evaluator = std::make_shared<Evaluator>(n, confidence);
    std::vector<size_t> all(n);
    for (size_t i = 0; i < n; ++i)
      all[i] = i;
    auto left = run_tasks(rdd, all, task, *evaluator, &deadline);
    if (left.empty())
      return partial_result<result>{evaluator->current_result()};
    return partial_result<result>{
      evaluator->current_result(), [rdd, left, task, evaluator] {
        run_tasks(rdd, left, task, *evaluator, nullptr);
        return evaluator->current_result();
      }};
  }

  // Runs `task` over `partitions` of `rdd` (those that start before
  // `deadline` passes, if there is one), merging each result into
  // `evaluator`; returns the partitions that did not run.
  template <class Evaluator, class Task>
  static std::vector<size_t>
  run_tasks(const Rdd& rdd, const std::vector<size_t>& partitions,
            const Task& task, Evaluator& evaluator,
            const action_deadline* deadline) {
    auto& runner = rdd_context::job_runner_of(rdd.context().get());
    const auto& node = *rdd.node();
    node.prepare(runner);
    std::mutex mtx;
    std::vector<char> ran(partitions.size(), 0);
    runner.run(partitions.size(), [&](size_t k) {
      if (deadline != nullptr && deadline->passed())
        return;
      auto x = task(node, partitions[k]);
      std::lock_guard<std::mutex> guard{mtx};
      evaluator.merge(x);
      ran[k] = 1;
    });
    std::vector<size_t> left;
    for (size_t k = 0; k < partitions.size(); ++k)
      if (ran[k] == 0)
        left.push_back(partitions[k]);
    return left;
  }
};

} // namespace caf_stream::detail
