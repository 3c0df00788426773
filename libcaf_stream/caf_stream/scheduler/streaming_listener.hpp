#pragma once

#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/scheduler/checkpoint_info.hpp"
#include "caf_stream/scheduler/executor_info.hpp"
#include "caf_stream/scheduler/receiver_info.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// Receives the progress of batches (Spark's `StreamingListener`). Called
/// one event at a time, each batch's events in order (submitted, started,
/// completed) and batches in order; events of different batches interleave
/// (a batch is submitted while an earlier one runs). Called on the listener
/// bus's own thread (Spark's StreamingListenerBus): a slow listener delays
/// no batch, but once `stream.listener-bus.capacity` events wait for it,
/// new events are dropped (with a warning). `stop()` waits until the events
/// of the batches that ran were delivered.
class streaming_listener {
public:
  virtual ~streaming_listener();

  /// The context started at `start` (its clock's time), before its first
  /// batch; a listener added later does not hear of it.
  virtual void on_streaming_started(time start);

  /// The batch's jobs were handed to the scheduler, at the batch's time
  /// (also while earlier batches run).
  virtual void on_batch_submitted(const batch_info& info);

  /// The batch's first job started.
  virtual void on_batch_started(const batch_info& info);

  /// The batch's last job ended (check `failure_reason`).
  virtual void on_batch_completed(const batch_info& info);

  /// One of the batch's output operations started: its job, after the
  /// batch started (`info.start_time` is set).
  virtual void on_output_operation_started(const output_operation_info& info);

  /// That output operation ended (check `info.failure_reason`), before the
  /// next one started and before the batch completed.
  virtual void
  on_output_operation_completed(const output_operation_info& info);

  /// A receiver started, or started again after a restart.
  virtual void on_receiver_started(const receiver_info& info);

  /// A receiver reported an error (`report_error`) or is restarted after
  /// one (then `info.active` is false).
  virtual void on_receiver_error(const receiver_info& info);

  /// A receiver stopped for good.
  virtual void on_receiver_stopped(const receiver_info& info);

  /// A receiver's rate limit changed (backpressure's estimate; not in
  /// Spark's listener).
  virtual void on_receiver_rate_updated(const receiver_info& info);

  /// The checkpoint writer wrote a batch's checkpoint, or failed to (check
  /// `failure_reason`; not in Spark's listener). Writes happen off the
  /// batch path, so they interleave with the batch events.
  virtual void on_checkpoint_written(const checkpoint_info& info);

  /// The driver reached an executor: itself as it starts, a worker node
  /// when it first sends it tasks or state partitions, or again after it
  /// was lost (Spark's `SparkListener.onExecutorAdded`).
  virtual void on_executor_added(const executor_info& info);

  /// The driver lost a worker node (`info.remove_reason`): it went down,
  /// left or could not be reached (Spark's `onExecutorRemoved`).
  virtual void on_executor_removed(const executor_info& info);
};

} // namespace caf_stream
