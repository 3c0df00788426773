#pragma once

#include "caf_stream/scheduler/batch_info.hpp"

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

  /// The batch's jobs were handed to the scheduler, at the batch's time
  /// (also while earlier batches run).
  virtual void on_batch_submitted(const batch_info& info);

  /// The batch's first job started.
  virtual void on_batch_started(const batch_info& info);

  /// The batch's last job ended (check `failure_reason`).
  virtual void on_batch_completed(const batch_info& info);
};

} // namespace caf_stream
