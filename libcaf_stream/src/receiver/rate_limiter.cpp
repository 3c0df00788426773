#include "caf_stream/receiver/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace caf_stream {

rate_limiter::rate_limiter(std::optional<double> max_rate,
                           std::optional<double> initial_rate)
  : max_rate_(max_rate) {
  set_rate(initial_rate ? initial_rate : max_rate);
}

void rate_limiter::update_rate(double records_per_second) {
  if (records_per_second > 0)
    set_rate(records_per_second);
}

void rate_limiter::set_rate(std::optional<double> r) {
  if (r && max_rate_)
    r = std::min(*r, *max_rate_);
  // Permits stored at the old rate stay; a lower rate lowers the cap.
  if (r)
    stored_ = std::min(stored_, *r);
  rate_ = r;
}

time rate_limiter::reserve(int64_t n, time now) {
  if (!rate_ || n <= 0)
    return now;
  auto now_ms = static_cast<double>(now.milliseconds());
  auto interval_ms = 1000.0 / *rate_;
  if (!started_) {
    next_free_ms_ = now_ms;
    started_ = true;
  }
  // Idle time earns permits, up to one second's worth.
  if (now_ms > next_free_ms_) {
    stored_ = std::min(*rate_, stored_ + (now_ms - next_free_ms_) / interval_ms);
    next_free_ms_ = now_ms;
  }
  auto moment = next_free_ms_;
  auto from_stored = std::min(static_cast<double>(n), stored_);
  stored_ -= from_stored;
  next_free_ms_ += (static_cast<double>(n) - from_stored) * interval_ms;
  return time{static_cast<int64_t>(std::ceil(moment))};
}

} // namespace caf_stream
