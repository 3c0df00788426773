#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// The source of time for a streaming context: the batch grid, block sealing
/// and the delays in `batch_info` all read it. Spark's `Clock`.
class clock {
public:
  using callback = std::function<void()>;

  virtual ~clock();

  /// The current time in milliseconds since the clock's epoch.
  virtual time now() const = 0;

  /// Blocks the calling thread until the clock reaches `t`, or until
  /// `cancelled()` holds when checked (at least after every `wake()`).
  virtual void sleep_until(time t, const std::function<bool()>& cancelled) = 0;

  /// Makes sleeping threads check their `cancelled` condition.
  virtual void wake() = 0;

  /// Calls `f` once the clock reaches `at` (at once if it has): the runtime's
  /// timers (the batch grid, receiver restarts) go through here. `f` runs on
  /// a thread of the clock's and must be short (it sends a message).
  virtual void schedule(time at, callback f) = 0;

  /// Whether time passes on its own, rather than when a test moves it.
  /// Periodic work that only bounds latency (sealing received records into
  /// blocks between batches) runs on such clocks only, so that under a
  /// manual clock what a test stored before moving the clock is cut into
  /// the batch as one block.
  virtual bool runs_by_itself() const noexcept = 0;
};

/// Wall-clock time (milliseconds since the Unix epoch). Its timers run on a
/// thread of its own, started by the first `schedule`.
class system_clock final : public clock {
public:
  system_clock() = default;

  ~system_clock() override;

  time now() const override;

  void sleep_until(time t, const std::function<bool()>& cancelled) override;

  void wake() override;

  void schedule(time at, callback f) override;

  bool runs_by_itself() const noexcept override {
    return true;
  }

private:
  // The timer thread's loop: fires each timer at its time, in time order.
  void run_timers();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::mutex timer_mtx_;
  std::condition_variable timer_cv_;
  std::multimap<time, callback> timers_;
  bool stopping_ = false;
  std::thread timer_thread_;
};

} // namespace caf_stream
