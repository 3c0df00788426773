#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/flume/avro_rpc.hpp"
#include "caf_stream/flume/event.hpp"

/// Spark's `SparkFlumeProtocol`, which the Spark Sink of a Flume agent
/// serves (`org.apache.spark.streaming.flume.sink.SparkSink`) and a polling
/// Flume stream calls, without sockets: Avro RPC over Netty framing, as
/// Java's `NettyTransceiver` speaks it. The client side, and the server
/// side for the examples and benchmarks that play the sink.
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

/// A call of SparkFlumeProtocol, decoded (the sink's side).
struct sink_call {
  enum class kind {
    /// A handshake with an empty message name (a client checking the
    /// connection); answered with the handshake alone.
    ping,
    /// `getEventBatch(int n)`: up to `n` events.
    get_event_batch,
    /// `ack(sequenceNumber)`: commit the batch.
    ack,
    /// `nack(sequenceNumber)`: roll it back.
    nack,
  };

  kind what = kind::ping;
  int32_t n = 0;
  std::string sequence_number;
};

/// The sink's side of one connection: decodes the calls of the packs a
/// client sends and encodes the replies; the first call carries the
/// handshake, answered with match BOTH.
class spark_sink_responder {
public:
  /// Decodes the call `pack` holds. Throws `protocol_error` if it does not
  /// decode, names a message SparkFlumeProtocol does not have, or has
  /// bytes left over.
  sink_call read(const netty_pack& pack);

  /// The reply to the `getEventBatch` just read: `batch`.
  std::vector<std::string> reply(const event_batch& batch) const;

  /// The reply to the `ack`, `nack` or ping just read.
  std::vector<std::string> reply() const;

private:
  server_handshake handshake_;
  bool ping_ = false;
};

/// The transactions of a Spark Sink stand-in (for the examples and
/// benchmarks that play the sink): a batch takes up to n events, those of
/// refused batches first, then new ones; an ack commits its batch, a nack
/// puts its events back, as the sink's transactions with its channel do.
class sink_transactions {
public:
  /// Fills `e` with a new event; false if there is none now.
  using source = std::function<bool(event& e)>;

  /// Returns whether a batch would have an event now: one put back, or a
  /// new one that `more()` says is there.
  bool ready(const std::function<bool()>& more) const {
    return !returned_.empty() || more();
  }

  /// Opens the next batch, of up to `n` events: those put back first, then
  /// new ones from `next`.
  event_batch take(int32_t n, const source& next);

  /// Commits the batch an `ack` names, puts back the events of the one a
  /// `nack` names; a name no open batch has is ignored.
  void settle(const sink_call& call);

  /// Puts back the events of every open batch (their connection closed).
  void roll_back();

  /// The events of the batches acknowledged so far.
  size_t acknowledged() const noexcept {
    return acked_;
  }

private:
  size_t batches_ = 0;
  size_t acked_ = 0;
  std::map<std::string, std::vector<event>> open_;
  std::deque<event> returned_;
};

} // namespace caf_stream::flume::detail
