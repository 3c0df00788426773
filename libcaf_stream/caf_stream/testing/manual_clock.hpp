#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "caf_stream/clock.hpp"

namespace caf_stream::testing {

/// A clock that moves only when told (Spark's `ManualClock`). Timers of the
/// runtime (batch grid, block sealing, receiver restarts) register here and
/// fire, in time order, inside `advance` on the caller's thread.
class manual_clock final : public clock {
public:
  explicit manual_clock(time start = time{0}) : now_(start) {
    // nop
  }

  time now() const override;

  /// Moves the clock forward by `d`, firing every timer due on the way at
  /// its own time, in order of (time, registration).
  void advance(duration d);

  /// Moves the clock to `t` (no-op if `t` is not later than now).
  void set_time(time t);

  /// Calls `f` when the clock reaches `at`: inside the `advance` or
  /// `set_time` that gets there, or at once if the clock is there already.
  void schedule(time at, callback f) override;

  bool runs_by_itself() const noexcept override {
    return false;
  }

  /// Blocks until a test moves the clock to `t` (or `cancelled()` holds).
  void sleep_until(time t, const std::function<bool()>& cancelled) override;

  void wake() override;

  /// Blocks until `pred(n)` holds for `n`, the number of threads asleep in
  /// `sleep_until` for a time still ahead. Checks again whenever a thread
  /// falls asleep or wakes up, after each `wake()`, and at least every 10 ms
  /// of real time. Returns false if `pred` still fails after `timeout` of
  /// real time: a guard against a hung test, never a way to wait for time.
  /// `pred` runs with the clock's lock held: it must not call the clock.
  ///
  /// A test that drives threads of its own (receivers, slow jobs) moves the
  /// clock a step, then waits until each of them sleeps again: each step's
  /// work is done at the step's time, however loaded the machine is.
  bool wait_for_sleepers(const std::function<bool(size_t)>& pred,
                         std::chrono::milliseconds timeout);

private:
  // Threads asleep for a time still ahead: the times in `sleeping_` after
  // `now_`. Called with `mtx_` held.
  size_t sleepers() const;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  time now_;
  uint64_t seq_ = 0;
  std::map<std::pair<time, uint64_t>, callback> timers_;
  // The times threads in `sleep_until` wait for; a time the clock reached
  // stays until its thread has woken up.
  std::multiset<time> sleeping_;
};

} // namespace caf_stream::testing
