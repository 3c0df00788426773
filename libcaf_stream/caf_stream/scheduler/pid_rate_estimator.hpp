#pragma once

#include <cstdint>
#include <optional>

namespace caf_stream {

/// Spark's PIDRateEstimator: from each completed batch's figures, the rate
/// (records per second) at which the input should arrive so that batches
/// finish within the batch interval. The proportional term follows the
/// processing rate, the integral term drains the scheduling delay built up
/// so far, the derivative term damps changes. The first batch only sets the
/// baseline; batches without records or without processing time are
/// ignored; the rate never drops below `min_rate`.
class pid_rate_estimator {
public:
  /// Throws `std::invalid_argument` unless the batch interval and
  /// `min_rate` are positive and the gains are not negative.
  pid_rate_estimator(int64_t batch_interval_ms, double proportional = 1.0,
                     double integral = 0.2, double derivative = 0.0,
                     double min_rate = 100.0);

  /// The rate no estimate goes below.
  double min_rate() const noexcept {
    return min_rate_;
  }

  /// The new rate after the batch of `time_ms` with `num_records` records,
  /// or none (first batch, nothing to learn from, or a repeated time).
  std::optional<double> compute(int64_t time_ms, int64_t num_records,
                                int64_t processing_delay_ms,
                                int64_t scheduling_delay_ms);

private:
  int64_t batch_interval_ms_;
  double proportional_;
  double integral_;
  double derivative_;
  double min_rate_;
  bool first_run_ = true;
  int64_t latest_time_ = -1;
  double latest_rate_ = -1;
  double latest_error_ = -1;
};

} // namespace caf_stream
