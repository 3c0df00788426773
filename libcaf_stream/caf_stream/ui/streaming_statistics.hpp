#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::ui {

/// What the streaming UI, Spark's REST API and the Prometheus metrics show
/// (Spark's `StreamingJobProgressListener`): a listener that keeps the last
/// `retained_batches` completed batches, the batches waiting or running,
/// the receivers, the executors (Spark's `AppStatusListener` keeps those
/// for its Executors tab) and running totals since the start. Thread-safe:
/// the listener bus writes, the web server's threads read.
class streaming_statistics final : public streaming_listener {
public:
  /// `app_id`: the application's id in the REST API's paths.
  streaming_statistics(std::string app_id, time start_time,
                       duration batch_interval, size_t retained_batches);

  /// Registers a receiver stream before it reports (so that one that never
  /// started shows as inactive).
  void add_receiver(int32_t stream_id, const std::string& name);

  /// Names state stream `state_id` by its operation ("map_with_state") in
  /// the batches' state sizes and the metrics.
  void add_state_stream(int32_t state_id, const std::string& operation);

  void on_batch_submitted(const batch_info& info) override;

  void on_batch_started(const batch_info& info) override;

  void on_batch_completed(const batch_info& info) override;

  void on_receiver_started(const receiver_info& info) override;

  void on_receiver_error(const receiver_info& info) override;

  void on_receiver_stopped(const receiver_info& info) override;

  void on_receiver_rate_updated(const receiver_info& info) override;

  void on_checkpoint_written(const checkpoint_info& info) override;

  void on_executor_added(const executor_info& info) override;

  void on_executor_removed(const executor_info& info) override;

  const std::string& app_id() const noexcept {
    return app_id_;
  }

  /// `GET /api/v1/applications`: this application, as a one-element list.
  std::string applications_json() const;

  /// `GET .../streaming/statistics`.
  std::string statistics_json() const;

  /// `GET .../streaming/receivers`.
  std::string receivers_json() const;

  /// `GET .../streaming/receivers/{stream}`; none for an unknown stream.
  std::optional<std::string> receiver_json(int32_t stream_id) const;

  /// `GET .../streaming/batches[?status=S]`, newest first; `status` is
  /// "COMPLETED", "PROCESSING" or "QUEUED" (empty: all).
  std::string batches_json(const std::string& status = "") const;

  /// `GET .../streaming/batches/{batch}`; none for a batch not kept.
  std::optional<std::string> batch_json(int64_t batch_id) const;

  /// `GET .../streaming/batches/{batch}/operations`; none for a batch not
  /// kept.
  std::optional<std::string> operations_json(int64_t batch_id) const;

  /// `GET .../executors` (`all` false: the active ones) and
  /// `GET .../allexecutors` (`all`: those removed too), in the order they
  /// were added.
  std::string executors_json(bool all) const;

  /// `GET /metrics`: Prometheus' text format.
  std::string metrics_text() const;

  /// The removed executors the page and the API keep (Spark's
  /// `spark.ui.retainedDeadExecutors`).
  static constexpr size_t retained_dead_executors = 100;

  /// The upper bounds (seconds) of the delay histograms' buckets.
  static const std::vector<double>& histogram_bounds();

  /// The upper bounds (seconds) of the checkpoint write times' buckets.
  static const std::vector<double>& checkpoint_bounds();

private:
  struct histogram {
    explicit histogram(const std::vector<double>& bounds)
      : bounds(&bounds), buckets(bounds.size()) {
      // nop
    }

    const std::vector<double>* bounds;
    std::vector<uint64_t> buckets; // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;

    void observe(double seconds);
  };

  struct receiver_stats {
    receiver_info info;
    int64_t records = 0;
  };

  struct executor_stats {
    executor_info info;
    executor_tasks tasks;
  };

  // Every receiver event carries the receiver's whole state.
  void update_receiver(const receiver_info& info);

  // The last executor added as `id`, if any.
  executor_stats* last_executor(const std::string& id);

  std::string app_id_;
  time start_time_;
  duration batch_interval_;
  size_t retained_batches_;
  mutable std::mutex mtx_;
  // Waiting or running batches, by batch time.
  std::map<time, batch_info> active_;
  // The last completed ones, oldest first.
  std::deque<batch_info> completed_;
  std::map<int32_t, receiver_stats> receivers_;
  // Oldest first; a worker node reached again after it was lost comes
  // again (Spark gives it a new executor id). The last
  // `retained_dead_executors` removed ones stay.
  std::vector<executor_stats> executors_;
  // The tasks of each executor id since the start, for the metrics.
  std::map<std::string, executor_tasks> executor_totals_;
  // The operation of each state stream, by state id.
  std::map<int32_t, std::string> state_streams_;
  // The keys of each state stream after the last completed batch.
  std::map<int32_t, int64_t> state_keys_;
  uint64_t total_completed_ = 0;
  uint64_t total_failed_ = 0;
  int64_t total_records_ = 0;
  histogram scheduling_{histogram_bounds()};
  histogram processing_{histogram_bounds()};
  histogram total_delay_{histogram_bounds()};
  histogram checkpoint_writes_{checkpoint_bounds()};
  uint64_t checkpoints_failed_ = 0;
};

} // namespace caf_stream::ui
