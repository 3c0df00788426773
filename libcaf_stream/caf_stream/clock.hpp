#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// The source of time for a streaming context: the batch grid, block sealing
/// and the delays in `batch_info` all read it. Spark's `Clock`.
class clock {
public:
  virtual ~clock();

  /// The current time in milliseconds since the clock's epoch.
  virtual time now() const = 0;

  /// Blocks the calling thread until the clock reaches `t`, or until
  /// `cancelled()` holds when checked (at least after every `wake()`).
  virtual void sleep_until(time t, const std::function<bool()>& cancelled) = 0;

  /// Makes sleeping threads check their `cancelled` condition.
  virtual void wake() = 0;
};

/// Wall-clock time (milliseconds since the Unix epoch). Timers on this clock
/// are CAF's own (`delayed_send`).
class system_clock final : public clock {
public:
  time now() const override;

  void sleep_until(time t, const std::function<bool()>& cancelled) override;

  void wake() override;

private:
  std::mutex mtx_;
  std::condition_variable cv_;
};

} // namespace caf_stream
