#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/flume/avro_rpc.hpp"
#include "caf_stream/flume/event.hpp"

/// The client side of Spark's `SparkFlumeProtocol`, which the Spark Sink of
/// a Flume agent serves (`org.apache.spark.streaming.flume.sink.SparkSink`)
/// and a polling Flume stream calls, without sockets: Avro RPC over Netty
/// framing, as Java's `NettyTransceiver` speaks it.
namespace caf_stream::flume::detail {

/// The protocol's text, as a client sends it in its first handshake.
extern const char* const spark_flume_protocol;

/// Spark's `EventBatch`: the events of a transaction the sink opened, named
/// by `sequence_number`, or an error (`error_msg` not empty: no events,
/// nothing to acknowledge).
struct event_batch {
  std::string error_msg;
  std::string sequence_number;
  std::vector<event> events;
};

/// Encodes the calls `getEventBatch(n)`, `ack(sequenceNumber)` and
/// `nack(sequenceNumber)` and reads their replies, in order, on one
/// connection. The first call carries the handshake with the protocol's
/// text and MD5 hash, so a Java sink knows the protocol at once; the sink
/// answers BOTH, or CLIENT with its own text of the same protocol.
class spark_sink_requestor {
public:
  /// `max_reply`: the most bytes one reply may take; a sink that announces
  /// more is refused before its bytes arrive.
  explicit spark_sink_requestor(size_t max_reply);

  /// Appends the pack of `getEventBatch(n)` to `out`.
  void get_event_batch(std::string& out, int32_t n);

  /// Appends the pack of `ack(sequence_number)`: the sink commits the
  /// transaction.
  void ack(std::string& out, const std::string& sequence_number);

  /// Appends the pack of `nack(sequence_number)`: the sink rolls the
  /// transaction back and sends its events again.
  void nack(std::string& out, const std::string& sequence_number);

  /// Feeds the next `size` bytes the sink sent and appends each reply they
  /// complete to `out`: the batch of a `getEventBatch`, nothing for an
  /// `ack` or `nack`. Throws `protocol_error` for a reply that does not
  /// decode, is not the next call's, or carries an error (its text).
  void feed(const char* data, size_t size,
            std::vector<std::optional<event_batch>>& out);

  /// Returns whether a call awaits its reply.
  bool awaiting_reply() const noexcept {
    return !pending_.empty();
  }

private:
  enum class call { get_event_batch, ack, nack };

  // Starts the request of `message` (the handshake first, once).
  std::string begin_call(call what, const char* message);

  void end_call(std::string& out, std::string request);

  netty_decoder decoder_;
  std::vector<netty_pack> packs_;
  // The calls sent and not answered, with their serials, oldest first.
  std::deque<std::pair<int32_t, call>> pending_;
  int32_t serial_ = 0;
  bool handshake_sent_ = false;
  bool handshake_read_ = false;
};

} // namespace caf_stream::flume::detail
