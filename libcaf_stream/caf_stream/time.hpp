#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "caf_stream/duration.hpp"

namespace caf_stream {

/// A point on the batch grid: milliseconds since the clock's epoch, as in
/// Spark Streaming's `Time`. Batch times are multiples of the batch interval.
class time {
public:
  constexpr time() noexcept = default;

  constexpr explicit time(int64_t ms) noexcept : ms_(ms) {
    // nop
  }

  /// Milliseconds since the clock's epoch.
  constexpr int64_t milliseconds() const noexcept {
    return ms_;
  }

  /// The next point of the grid `(floor(t / interval) + 1) * interval`.
  time next_on_grid(duration interval) const noexcept {
    auto n = interval.count();
    auto q = ms_ >= 0 ? ms_ / n : (ms_ - n + 1) / n;
    return time{(q + 1) * n};
  }

  /// Returns whether this time lies on the grid of `interval` from `zero`.
  bool is_on_grid(time zero, duration interval) const noexcept {
    return interval.count() > 0 && (ms_ - zero.ms_) % interval.count() == 0;
  }

  friend constexpr time operator+(time t, duration d) noexcept {
    return time{t.ms_ + d.count()};
  }

  friend constexpr time operator-(time t, duration d) noexcept {
    return time{t.ms_ - d.count()};
  }

  friend constexpr duration operator-(time a, time b) noexcept {
    return duration{a.ms_ - b.ms_};
  }

  friend constexpr bool operator==(time a, time b) noexcept {
    return a.ms_ == b.ms_;
  }

  friend constexpr bool operator!=(time a, time b) noexcept {
    return a.ms_ != b.ms_;
  }

  friend constexpr bool operator<(time a, time b) noexcept {
    return a.ms_ < b.ms_;
  }

  friend constexpr bool operator<=(time a, time b) noexcept {
    return a.ms_ <= b.ms_;
  }

  friend constexpr bool operator>(time a, time b) noexcept {
    return a.ms_ > b.ms_;
  }

  friend constexpr bool operator>=(time a, time b) noexcept {
    return a.ms_ >= b.ms_;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, time& x) {
    return f(x.ms_);
  }

private:
  int64_t ms_ = 0;
};

/// Renders `t` as Spark does: "1000 ms".
std::string to_string(time t);

} // namespace caf_stream

namespace std {

template <>
struct hash<caf_stream::time> {
  size_t operator()(caf_stream::time t) const noexcept {
    return std::hash<int64_t>{}(t.milliseconds());
  }
};

} // namespace std
