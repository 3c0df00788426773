#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf_stream::actors {

/// What the runtime's actors share with the context that started them: the
/// listeners, the termination state and the completed batches.
class runtime_state {
public:
  void add_listener(std::shared_ptr<streaming_listener> x);

  /// Removes each entry of `x`.
  void remove_listener(const std::shared_ptr<streaming_listener>& x);

  std::vector<std::shared_ptr<streaming_listener>> listeners() const;

  /// Whether any listener is there.
  bool has_listeners() const noexcept {
    return has_listeners_.load(std::memory_order_acquire);
  }

  /// Records a batch handed to the scheduler.
  void batch_generated(time t);

  /// Records a completed batch (and its failure, the first one kept).
  void batch_completed(const batch_info& info);

  /// Batches generated but not completed, oldest first.
  std::vector<time> pending() const;

  /// Marks the context as stopped and wakes up waiters.
  void terminate();

  /// Waits until terminated or a job failed; returns whether that happened
  /// before `deadline` (none: wait forever).
  bool await(std::optional<std::chrono::steady_clock::time_point> deadline);

  /// Waits until batch `t` completed, up to `timeout` of real time.
  bool await_batch(time t, std::chrono::milliseconds timeout);

  /// Waits until every generated batch completed, up to `timeout`.
  bool await_idle(std::chrono::milliseconds timeout);

  /// The first job failure, if any.
  std::optional<std::string> failure() const;

  /// Set when stopping: the scheduler skips batches still queued.
  bool stopping() const;

  void set_stopping();

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<streaming_listener>> listeners_;
  std::atomic<bool> has_listeners_{false};
  std::optional<std::string> failure_;
  std::optional<time> last_completed_;
  std::set<time> pending_;
  bool terminated_ = false;
  bool stopping_ = false;
};

/// Spawns and wires the runtime's actors for a started graph, and takes them
/// down again. Owned by the streaming context.
class runtime {
public:
  runtime(caf::actor_system& sys, std::shared_ptr<detail::dstream_graph> graph,
          std::shared_ptr<clock> clk, stream_options opts,
          std::shared_ptr<runtime_state> state);

  ~runtime();

  /// Spawns the actors: workers, tracker, receivers, scheduler, generator.
  /// Batches from `first_batch` up to now run at once (recovery). With the
  /// receiver write-ahead log, `blocks` holds the log and what recovery
  /// read back from it.
  void start(time first_batch, tracked_blocks blocks = {});

  /// Stops receivers (and on `graceful` waits for the data received so far
  /// to be processed), then takes every actor down and waits for them.
  void stop(bool graceful);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace caf_stream::actors
