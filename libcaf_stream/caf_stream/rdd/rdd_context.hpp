#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <utility>

#include "caf_stream/scheduler/task_runner.hpp"

namespace caf_stream {

class clock;

/// What an RDD's actions run their tasks on: the part of Spark's SparkContext
/// that runs jobs. A graph owns one and the RDDs it generates carry it; the
/// job executor installs its task runner in it while it runs. An action runs
/// on the installed runner when called on the installer's thread (a job of
/// the runtime) and inline on the calling thread otherwise: with no runner
/// installed, inside a task (where Spark forbids actions), or on a thread of
/// the user's. Thread-safe.
class rdd_context {
public:
  /// The runner for an action called on the calling thread.
  task_runner& runner() const noexcept {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return *installed_;
    return task_runner::inline_runner();
  }

  /// Whether a runner is installed for a thread other than the calling one
  /// (the runtime runs jobs, and this thread is not theirs).
  bool runs_jobs_elsewhere() const noexcept {
    auto owner = owner_.load(std::memory_order_acquire);
    return owner != std::thread::id{} && owner != std::this_thread::get_id();
  }

  /// The runner of `context`, which may be null (an RDD made outside any
  /// graph).
  static task_runner& runner_of(const rdd_context* context) noexcept {
    return context != nullptr ? context->runner()
                              : task_runner::inline_runner();
  }

  /// The runner for a job (an RDD action) of `context`, which may be null,
  /// called on the calling thread. Throws `stream_error`
  /// (errc::illegal_state) inside a task (`task_runner::in_task`): Spark
  /// refuses an action in a transformation's function, a state stream's or
  /// a window's, or `foreach_partition`'s (SPARK-5063: only the driver runs
  /// jobs), and a task may run on a worker node that has none of the RDD's
  /// input.
  static task_runner& job_runner_of(const rdd_context* context);

  /// Makes `runner` this context's runner for the calling thread until
  /// `uninstall`.
  void install(task_runner& runner) noexcept {
    installed_ = &runner;
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
  }

  void uninstall() noexcept {
    owner_.store(std::thread::id{}, std::memory_order_release);
  }

  /// The clock of the streaming context whose graph owns this context, on
  /// which the approximate actions' timeouts pass; null outside one.
  const clock* get_clock() const noexcept {
    return clock_.get();
  }

  /// Sets the clock before any action runs.
  void set_clock(std::shared_ptr<const clock> clk) noexcept {
    clock_ = std::move(clk);
  }

private:
  std::shared_ptr<const clock> clock_;
  task_runner* installed_ = nullptr;
  std::atomic<std::thread::id> owner_{};
};

using rdd_context_ptr = std::shared_ptr<rdd_context>;

/// Installs a runner in a context for the lifetime of this object.
class scoped_runner {
public:
  scoped_runner(rdd_context& context, task_runner& runner) noexcept
    : context_(context) {
    context_.install(runner);
  }

  ~scoped_runner() {
    context_.uninstall();
  }

  scoped_runner(const scoped_runner&) = delete;

  scoped_runner& operator=(const scoped_runner&) = delete;

private:
  rdd_context& context_;
};

} // namespace caf_stream
