#include "caf_stream/scheduler/pid_rate_estimator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace caf_stream {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok)
    throw std::invalid_argument("pid_rate_estimator: " + what);
}

} // namespace

pid_rate_estimator::pid_rate_estimator(int64_t batch_interval_ms,
                                       double proportional, double integral,
                                       double derivative, double min_rate)
  : batch_interval_ms_(batch_interval_ms),
    proportional_(proportional),
    integral_(integral),
    derivative_(derivative),
    min_rate_(min_rate) {
  require(batch_interval_ms > 0, "the batch interval must be positive, got "
                                   + std::to_string(batch_interval_ms));
  require(proportional >= 0, "proportional must not be negative, got "
                               + std::to_string(proportional));
  require(integral >= 0,
          "integral must not be negative, got " + std::to_string(integral));
  require(derivative >= 0, "derived must not be negative, got "
                             + std::to_string(derivative));
  require(min_rate > 0,
          "min-rate must be positive, got " + std::to_string(min_rate));
}

std::optional<double>
pid_rate_estimator::compute(int64_t time_ms, int64_t num_records,
                            int64_t processing_delay_ms,
                            int64_t scheduling_delay_ms) {
  if (time_ms <= latest_time_ || num_records <= 0 || processing_delay_ms <= 0)
    return std::nullopt;
  auto since_update = static_cast<double>(time_ms - latest_time_) / 1000;
  auto processing_rate = static_cast<double>(num_records)
                         / static_cast<double>(processing_delay_ms) * 1000;
  // Positive when the input came in faster than it could be processed.
  auto error = latest_rate_ - processing_rate;
  // The records the scheduling delay stands for, per batch interval.
  auto historical_error = static_cast<double>(scheduling_delay_ms)
                          * processing_rate
                          / static_cast<double>(batch_interval_ms_);
  auto d_error = (error - latest_error_) / since_update;
  auto new_rate = std::max(latest_rate_ - proportional_ * error
                             - integral_ * historical_error
                             - derivative_ * d_error,
                           min_rate_);
  latest_time_ = time_ms;
  if (first_run_) {
    latest_rate_ = processing_rate;
    latest_error_ = 0;
    first_run_ = false;
    return std::nullopt;
  }
  latest_rate_ = new_rate;
  latest_error_ = error;
  return new_rate;
}

} // namespace caf_stream
