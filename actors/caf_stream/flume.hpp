#pragma once

/// Flume streams (Spark's `FlumeUtils`), with names in snake_case: in push
/// mode `flume::create_stream(ssc, host, port[, settings])`, pulled from
/// Spark Sinks `flume::create_polling_stream(ssc, host, port[,
/// polling_settings])` or `(ssc, addresses[, polling_settings])`.

#include <memory>
#include <string>
#include <utility>

#include <vector>

#include "caf_stream/flume/event.hpp"
#include "caf_stream/flume/polling_receiver.hpp"
#include "caf_stream/flume/receiver.hpp"
#include "caf_stream/streaming_context.hpp"

namespace caf_stream::flume {

/// A stream of the events Flume agents push to host:port: the receiver is
/// the Avro RPC server a Flume AvroSink is pointed at (Flume's
/// `AvroSourceProtocol` over Avro's Netty framing; `hostname` and `port` of
/// the sink's configuration). A call is answered OK only after its events
/// were stored (and logged, with the write-ahead log on), FAILED while the
/// stream stops; the sink sends again what was not answered OK. A sink
/// with `compression-type = deflate` needs `enable_decompression` in
/// `settings` (Spark's `enableDecompression`).
/// Throws `std::invalid_argument` at the call for a bad host, port or
/// setting.
inline dstream<event> create_stream(streaming_context& ssc,
                                    const std::string& host, int port,
                                    settings cfg = {}) {
  detail::check_arguments(host, port, cfg, "flume::create_stream");
  return ssc.receiver_stream<event>(std::make_unique<detail::flume_receiver>(
    host, static_cast<uint16_t>(port), std::move(cfg)));
}

/// A stream of the events pulled from the Spark Sinks at `sinks` (Spark's
/// `FlumeUtils.createPollingStream`): Flume agents whose sink is of type
/// `org.apache.spark.streaming.flume.sink.SparkSink` keep their events in
/// their channel until the stream stored them. The stream calls each
/// sink's `getEventBatch(max_batch_size)` over Avro RPC, stores the events
/// as one block and answers `ack` once they are stored (logged, with the
/// write-ahead log on), `nack` if storing failed or the stream stops, so
/// the agent commits its transaction only for what was stored.
/// Throws `std::invalid_argument` at the call for no sink, a bad address
/// or setting.
inline dstream<event> create_polling_stream(streaming_context& ssc,
                                            std::vector<address> sinks,
                                            polling_settings cfg = {}) {
  detail::check_polling_arguments(sinks, cfg, "flume::create_polling_stream");
  return ssc.receiver_stream<event>(
    std::make_unique<detail::flume_polling_receiver>(std::move(sinks), cfg));
}

/// A stream of the events pulled from the Spark Sink at host:port (Spark's
/// `FlumeUtils.createPollingStream(ssc, hostname, port)`).
inline dstream<event> create_polling_stream(streaming_context& ssc,
                                            const std::string& host, int port,
                                            polling_settings cfg = {}) {
  return create_polling_stream(ssc, std::vector<address>{{host, port}}, cfg);
}

} // namespace caf_stream::flume
