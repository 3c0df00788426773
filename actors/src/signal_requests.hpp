#pragma once

#include <sys/types.h>

#include <chrono>

namespace caf_stream::actors {

/// Tells the shutdown hook what a SIGINT or SIGTERM asks for: the first one
/// a stop, a later one the end of the program at once, unless it is the
/// first one repeated. GNU `timeout` sends its signal to the program and
/// then to the program's process group, so a program it runs gets the
/// same signal twice at once from one sender: one request to stop. A
/// signal from the kernel (Ctrl-C on a terminal: sender 0) is never a
/// repeat.
class signal_requests {
public:
  /// When a signal came, on a monotonic clock (`CLOCK_MONOTONIC`, which a
  /// signal handler may read).
  using time_point = std::chrono::nanoseconds;

  /// How long after the first signal its sender's repeats of it count as
  /// that signal.
  static constexpr time_point repeat_window = std::chrono::seconds(1);

  enum class request {
    /// Stop the context.
    stop,
    /// The first signal again: nothing new.
    repeat,
    /// End the program at once.
    end_now,
  };

  /// What signal `sig`, sent by process `sender` (0: the kernel), that
  /// came at `now`, asks for.
  request take(int sig, pid_t sender, time_point now) noexcept {
    if (first_ == 0) {
      first_ = sig;
      sender_ = sender;
      at_ = now;
      return request::stop;
    }
    if (sig == first_ && sender != 0 && sender == sender_
        && now - at_ < repeat_window)
      return request::repeat;
    return request::end_now;
  }

private:
  // The first signal (0: none yet), its sender and when it came.
  int first_ = 0;
  pid_t sender_ = 0;
  time_point at_{0};
};

} // namespace caf_stream::actors
