#pragma once

#include <cstdint>
#include <optional>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// Spark's RateLimiter: a token bucket that lets `rate` records per second
/// through, with bursts of up to one second's worth after idle time. The
/// rate is the smaller of `stream.receiver.max-rate` and the last rate a
/// rate controller sent; none means unlimited. A plain class: `reserve`
/// says until when the caller must wait, the caller waits on its clock.
class rate_limiter {
public:
  /// `max_rate` caps every rate (none: no cap); `initial_rate` applies until
  /// a controller sends one (Spark's `backpressure.initialRate`).
  explicit rate_limiter(std::optional<double> max_rate = std::nullopt,
                        std::optional<double> initial_rate = std::nullopt);

  /// The rate in force, in records per second (none: unlimited).
  std::optional<double> rate() const noexcept {
    return rate_;
  }

  /// Sets the rate from a rate controller's estimate, capped at the
  /// maximum rate; non-positive rates are ignored.
  void update_rate(double records_per_second);

  /// Takes `n` permits at `now` and returns the time from which the caller
  /// may go on (`now` if at once). Permits not yet earned are paid by the
  /// following calls, so a large `n` passes now and delays the next ones.
  time reserve(int64_t n, time now);

private:
  void set_rate(std::optional<double> r);

  std::optional<double> max_rate_;
  std::optional<double> rate_;
  double next_free_ms_ = 0;
  double stored_ = 0;
  bool started_ = false;
};

} // namespace caf_stream
