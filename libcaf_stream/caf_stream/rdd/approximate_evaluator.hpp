#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "caf_stream/rdd/partial_result.hpp"
#include "caf_stream/rdd/stat_counter.hpp"

namespace caf_stream::detail {

// The estimates of the approximate actions, from the partitions computed so
// far: Spark's evaluators (`org.apache.spark.partial`), with its formulas.
// Each merges one partition's result at a time and gives its estimate for
// the whole RDD at any point; with every partition merged the estimate is
// exact (confidence 1).

/// `rdd::count_approx`: Spark's `CountEvaluator`.
class count_evaluator {
public:
  count_evaluator(size_t total_outputs, double confidence) noexcept
    : total_(total_outputs), confidence_(confidence) {
    // nop
  }

  void merge(int64_t count) noexcept {
    ++merged_;
    sum_ += count;
  }

  bounded_double current_result() const;

  /// The count of a whole of which a fraction `p` held `sum` records: the
  /// rest is negative binomial (`sum` successes of probability `p`) up to
  /// 10,000 records, Poisson of mean `sum * (1 - p) / p` above; the
  /// interval's ends are its quantiles at `(1 -+ confidence) / 2` (the
  /// least count whose distribution function reaches them), plus `sum`.
  static bounded_double bound(double confidence, int64_t sum, double p);

private:
  size_t total_;
  double confidence_;
  size_t merged_ = 0;
  int64_t sum_ = 0;
};

/// `rdd::count_by_value_approx`: Spark's `GroupedCountEvaluator`, a
/// `count_evaluator` bound per key; keys no merged partition held are not
/// in the estimate.
template <class K, class Hash>
class grouped_count_evaluator {
public:
  using counts = std::unordered_map<K, int64_t, Hash>;

  using result = std::unordered_map<K, bounded_double, Hash>;

  grouped_count_evaluator(size_t total_outputs, double confidence) noexcept
    : total_(total_outputs), confidence_(confidence) {
    // nop
  }

  void merge(const counts& xs) {
    ++merged_;
    for (const auto& [key, n] : xs)
      sums_[key] += n;
  }

  result current_result() const {
    result out;
    if (merged_ == 0 && total_ > 0)
      return out;
    if (merged_ == total_) {
      for (const auto& [key, sum] : sums_) {
        auto n = static_cast<double>(sum);
        out.emplace(key, bounded_double{n, 1.0, n, n});
      }
      return out;
    }
    auto p = static_cast<double>(merged_) / static_cast<double>(total_);
    for (const auto& [key, sum] : sums_)
      out.emplace(key, count_evaluator::bound(confidence_, sum, p));
    return out;
  }

private:
  size_t total_;
  double confidence_;
  size_t merged_ = 0;
  counts sums_;
};

/// What `sum_evaluator` and `mean_evaluator` merge: the numbers' count,
/// mean and variance (`stat_counter`) over the partitions computed.
class stats_evaluator {
public:
  stats_evaluator(size_t total_outputs, double confidence) noexcept
    : total_(total_outputs), confidence_(confidence) {
    // nop
  }

  void merge(const stat_counter& x) noexcept {
    ++merged_;
    counter_.merge(x);
  }

protected:
  size_t total_;
  double confidence_;
  size_t merged_ = 0;
  stat_counter counter_;
};

/// `rdd::sum_approx`: Spark's `SumEvaluator`. The sum is the mean times
/// the estimated count, its variance that of a product of two independent
/// estimates; the interval is Student's t (normal above 100 numbers) wide.
class sum_evaluator : public stats_evaluator {
public:
  using stats_evaluator::stats_evaluator;

  bounded_double current_result() const;
};

/// `rdd::mean_approx`: Spark's `MeanEvaluator`, the numbers' mean with a
/// Student's t (normal above 100 numbers) interval.
class mean_evaluator : public stats_evaluator {
public:
  using stats_evaluator::stats_evaluator;

  bounded_double current_result() const;
};

} // namespace caf_stream::detail
