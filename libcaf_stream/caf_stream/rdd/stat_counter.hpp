#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace caf_stream {

/// The count, mean, variance, maximum and minimum of numbers, kept in one
/// pass and mergeable (Spark's `StatCounter`, which `rdd::stats` returns):
/// each partition's task fills one, and the driver merges them (Welford's
/// update per number, Chan's to merge two). As Spark's: with no number the
/// mean and the sum are 0, the maximum is -inf, the minimum +inf, and the
/// variances NaN; the sample variance needs two numbers.
class stat_counter {
public:
  /// Adds `x`.
  stat_counter& merge(double x) noexcept {
    ++n_;
    auto delta = x - mu_;
    mu_ += delta / static_cast<double>(n_);
    m2_ += delta * (x - mu_);
    max_ = std::max(max_, x);
    min_ = std::min(min_, x);
    return *this;
  }

  /// Adds the numbers `other` counted.
  stat_counter& merge(const stat_counter& other) noexcept {
    if (other.n_ == 0)
      return *this;
    if (n_ == 0) {
      *this = other;
      return *this;
    }
    auto n = static_cast<double>(n_);
    auto m = static_cast<double>(other.n_);
    auto delta = other.mu_ - mu_;
    mu_ += delta * m / (n + m);
    m2_ += other.m2_ + delta * delta * n * m / (n + m);
    n_ += other.n_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
    return *this;
  }

  /// How many numbers it counted.
  int64_t count() const noexcept {
    return n_;
  }

  /// Their mean (0 without numbers).
  double mean() const noexcept {
    return mu_;
  }

  /// Their sum.
  double sum() const noexcept {
    return static_cast<double>(n_) * mu_;
  }

  /// The largest (-inf without numbers).
  double max() const noexcept {
    return max_;
  }

  /// The smallest (+inf without numbers).
  double min() const noexcept {
    return min_;
  }

  /// The population variance: the squared deviations' sum over n.
  double variance() const noexcept {
    return pop_variance();
  }

  /// The population variance (Spark's `popVariance`).
  double pop_variance() const noexcept {
    return n_ == 0 ? std::numeric_limits<double>::quiet_NaN()
                   : m2_ / static_cast<double>(n_);
  }

  /// The sample variance: the squared deviations' sum over n - 1.
  double sample_variance() const noexcept {
    return n_ <= 1 ? std::numeric_limits<double>::quiet_NaN()
                   : m2_ / static_cast<double>(n_ - 1);
  }

  /// The population standard deviation.
  double stdev() const noexcept {
    return std::sqrt(pop_variance());
  }

  /// The population standard deviation (Spark's `popStdev`).
  double pop_stdev() const noexcept {
    return stdev();
  }

  /// The sample standard deviation.
  double sample_stdev() const noexcept {
    return std::sqrt(sample_variance());
  }

private:
  int64_t n_ = 0;
  double mu_ = 0;
  // The sum of the squared deviations from the mean.
  double m2_ = 0;
  double max_ = -std::numeric_limits<double>::infinity();
  double min_ = std::numeric_limits<double>::infinity();
};

} // namespace caf_stream
