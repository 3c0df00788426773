#pragma once

#include <memory>

namespace caf_stream {

class streaming_context;

/// Spark's shutdown hook for a program's context: while it lives, the first
/// SIGINT or SIGTERM stops `ssc` (gracefully if
/// `stream.stop-gracefully-on-shutdown` is set, as Spark's
/// `spark.streaming.stopGracefullyOnShutdown`), so that
/// `await_termination` returns and every batch that runs completes; a
/// second signal ends the program at once, with status 128 + the signal,
/// after removing the output directories being written (no partial output
/// stays behind). The first signal repeated by its sender within a second
/// is no second one: GNU `timeout` sends its signal to the program and then
/// to its process group. One hook at a time per process; the previous
/// signal handlers come back when it is destroyed.
class shutdown_hook {
public:
  explicit shutdown_hook(streaming_context& ssc);

  ~shutdown_hook();

  shutdown_hook(const shutdown_hook&) = delete;

  shutdown_hook& operator=(const shutdown_hook&) = delete;

  /// The signal that stopped the context, 0 if none did.
  int signal() const noexcept;

  /// What a program returns after a stop: 128 + the signal, or 0.
  int exit_status() const noexcept {
    auto sig = signal();
    return sig == 0 ? 0 : 128 + sig;
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace caf_stream
