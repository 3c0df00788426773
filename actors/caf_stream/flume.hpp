#pragma once

/// Flume streams in push mode (Spark's `FlumeUtils.createStream`), with
/// names in snake_case: `flume::create_stream(ssc, host, port[, settings])`.

#include <memory>
#include <string>
#include <utility>

#include "caf_stream/flume/event.hpp"
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

} // namespace caf_stream::flume
