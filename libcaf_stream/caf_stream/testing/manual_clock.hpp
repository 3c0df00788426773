#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "caf_stream/clock.hpp"

namespace caf_stream::testing {

/// A clock that moves only when told (Spark's `ManualClock`). Timers of the
/// runtime (batch grid, block sealing, receiver restarts) register here and
/// fire, in time order, inside `advance` on the caller's thread.
class manual_clock final : public clock {
public:
  using callback = std::function<void()>;

  explicit manual_clock(time start = time{0}) : now_(start) {
    // nop
  }

  time now() const override;

  /// Moves the clock forward by `d`, firing every timer due on the way at
  /// its own time, in order of (time, registration).
  void advance(duration d);

  /// Moves the clock to `t` (no-op if `t` is not later than now).
  void set_time(time t);

  /// Calls `f` when the clock reaches `at` (at once if it already has).
  void schedule(time at, callback f);

  /// Blocks until a test moves the clock to `t` (or `cancelled()` holds).
  void sleep_until(time t, const std::function<bool()>& cancelled) override;

  void wake() override;

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  time now_;
  uint64_t seq_ = 0;
  std::map<std::pair<time, uint64_t>, callback> timers_;
};

} // namespace caf_stream::testing
