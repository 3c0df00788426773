#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace caf_stream {

/// The unit of every interval in caf-stream (batch, block, window, slide):
/// milliseconds, as in Spark Streaming's `Duration`.
using duration = std::chrono::milliseconds;

/// Renders `d` as Spark does: "1000 ms".
std::string to_string(duration d);

/// Returns whether `d` is a whole multiple of `of` (`of` must be positive).
inline bool is_multiple_of(duration d, duration of) noexcept {
  return of.count() > 0 && d.count() % of.count() == 0;
}

} // namespace caf_stream
