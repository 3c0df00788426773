#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/flume/event.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream::flume {

/// Where a Spark Sink listens (a Flume agent's sink of type
/// `org.apache.spark.streaming.flume.sink.SparkSink`: its `hostname` and
/// `port`).
struct address {
  std::string host;
  int port = 0;
};

/// How a polling Flume stream pulls from its Spark Sinks (Spark's
/// `FlumeUtils.createPollingStream` arguments and defaults).
struct polling_settings {
  /// The most events one `getEventBatch` call asks for (Spark's
  /// `maxBatchSize`, 1000).
  int max_batch_size = 1000;

  /// How many calls run at once, each on a sink of its own (Spark's
  /// `parallelism`, 5); with more sinks than that, each caller asks its
  /// sinks in turn.
  int parallelism = 5;

  /// The most bytes one reply may take (a batch of events, Netty framing
  /// included). A sink that announces more is reported and disconnected
  /// before the bytes are read; its transaction rolls back.
  size_t max_reply_size = 64 * 1024 * 1024;

  /// How long a sink that cannot be reached, failed, answered an error
  /// batch or whose batch could not be stored waits before it is asked
  /// again (Spark's `spark.streaming.receiverRestartDelay` default, 2 s).
  duration reconnect_delay{2000};
};

namespace detail {

/// Checks the arguments of a polling Flume stream; throws
/// `std::invalid_argument` naming `what` (no sink, a sink without a host
/// or with a port out of range, a batch size or parallelism under 1, a
/// reply size under 1 KiB, a negative delay).
void check_polling_arguments(const std::vector<address>& sinks,
                             const polling_settings& cfg, const char* what);

/// The receiver of a polling Flume stream (Spark's `FlumePollingReceiver`
/// with its `FlumeBatchFetcher`s): `min(parallelism, sinks)` threads, each
/// with its sinks' connections, call `getEventBatch(max_batch_size)`,
/// store each batch's events as one block and answer `ack` once `store`
/// returned (with the write-ahead log on, after the block is in the log),
/// else `nack` (storing failed, or the stream stops), so the sink commits
/// its transaction only for what was stored. A failed store, an error
/// batch, a sink that cannot be reached, replies what is not
/// SparkFlumeProtocol or disconnects: each is reported (once while the sink
/// keeps failing) and the sink asked again, or connected again, after
/// `reconnect_delay`; a transaction it had open rolls back at the sink.
class flume_polling_receiver final : public threaded_receiver<event> {
public:
  flume_polling_receiver(std::vector<address> sinks, polling_settings cfg);

  ~flume_polling_receiver() override;

private:
  void receive() override;

  // Pulls from the sinks `first`, `first + step`, ... until the receiver
  // stops.
  void pull(size_t first, size_t step);

  std::vector<address> sinks_;
  polling_settings cfg_;
};

} // namespace detail

} // namespace caf_stream::flume
