#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "caf_stream/flume/avro_binary.hpp"
#include "caf_stream/flume/compression.hpp"
#include "caf_stream/flume/event.hpp"

/// Flume's `AvroSourceProtocol` as an Avro RPC server speaks it on one
/// connection, without sockets: Avro's Netty framing, the handshake, the
/// calls and their replies. Debian has no Avro RPC library (avro-c has
/// none), so this is ours; the values are decoded here too, each length
/// checked against the bytes that are there before anything is allocated.
namespace caf_stream::flume::detail {

/// A pack of Avro's Netty framing (Java's `NettyDataPack`): a serial that
/// the reply repeats and the frames, which together hold one request or
/// one reply.
struct netty_pack {
  int32_t serial = 0;
  std::vector<std::string> frames;
};

/// Cuts the bytes of a connection into packs: a big-endian int32 serial, an
/// int32 frame count, then each frame as an int32 length and its bytes.
class netty_decoder {
public:
  /// `max_request`: the most bytes a pack may take (frame lengths
  /// included); a pack that announces more is refused as soon as its
  /// header says so, before its bytes arrive. The errors call a pack
  /// `what` ("request", "reply") and the limit by `limit`, the setting.
  explicit netty_decoder(size_t max_request, const char* what = "request",
                         const char* limit
                         = "flume::settings::max_request_size");

  /// Feeds the next `size` bytes and appends each pack they complete to
  /// `out`. Throws `protocol_error` for a negative count or length, or a
  /// pack past the limit.
  void feed(const char* data, size_t size, std::vector<netty_pack>& out);

  /// Returns whether a pack has begun and not ended (a client that
  /// disconnects now leaves a request unfinished).
  bool in_pack() const noexcept {
    return !buf_.empty() || state_ != state::header;
  }

  /// The bytes of the unfinished pack received so far.
  size_t pending_bytes() const noexcept {
    return taken_ + buf_.size();
  }

private:
  enum class state { header, frame_length, frame };

  size_t max_request_;
  const char* what_;
  const char* limit_;
  state state_ = state::header;
  // Bytes of a header or length not complete yet, or of the current frame.
  std::string buf_;
  netty_pack pack_;
  int32_t frames_left_ = 0;
  size_t frame_size_ = 0;
  // Bytes of the current pack already taken out of `buf_`.
  size_t taken_ = 0;
};

/// Feeds `decoder` as its `feed` does, but catches malformed framing:
/// returns its error (null if none) after the packs before it, which are
/// taken first, so that the same bytes give the same packs and error
/// however they are cut into reads.
std::exception_ptr feed_packs(netty_decoder& decoder, const char* data,
                              size_t size, std::vector<netty_pack>& packs);

/// Appends a pack with `serial` and `frames` to `out` in Netty framing.
void encode_pack(std::string& out, int32_t serial,
                 const std::vector<std::string>& frames);

/// The bytes of a pack's frames, which Avro reads as one stream of bytes
/// (`joined` holds them when there is more than one frame).
std::string_view bytes_of(const netty_pack& pack, std::string& joined);

/// Reads the handshake that starts the reply to a connection's first call
/// (Avro's `HandshakeResponse`): match BOTH, or CLIENT (the server knows
/// the client's protocol and sends its own, which is the same protocol
/// written otherwise). Throws `protocol_error` for match NONE: the server
/// does not know the client's protocol, `protocol`.
void read_handshake_reply(avro_reader& in, const char* protocol);

/// Reads a reply's metadata and error flag; throws `protocol_error` with
/// the error's text if the server failed the call.
void read_call_outcome(avro_reader& in);

/// Throws `protocol_error` if `in` has bytes after the last value of the
/// `what` ("request", "reply") it holds.
void expect_end(const avro_reader& in, const char* what);

/// The reply status of AvroSourceProtocol's calls (Flume's `Status`).
enum class status { ok, failed, unknown };

/// The server's side of Avro RPC's handshake on a stateful connection
/// (Netty's): the connection's first request carries it, and the reply to
/// that request starts with the answer, match BOTH (the client's protocol
/// is taken as the server's; a call of a message the server does not have
/// is refused by the server).
class server_handshake {
public:
  /// The frames a reply to the request just read starts with: the
  /// handshake's answer if the request carried the handshake, else none.
  std::vector<std::string> reply_frames() const;

  /// Reads the start of a request: the handshake (on the connection's
  /// first), the call metadata; returns the message's name.
  std::string_view read_call(avro_reader& in);

private:
  // Reads the handshake from `in` if it starts the connection's first
  // request.
  void read(avro_reader& in);

  bool connected_ = false;
  // Whether the request just read carried the handshake.
  bool answer_ = false;
};

/// A call of AvroSourceProtocol, decoded.
struct request {
  enum class kind {
    /// A handshake with an empty message name (a client checking the
    /// connection); answered with the handshake alone.
    ping,
    /// `append(AvroFlumeEvent event)`: one event.
    append,
    /// `appendBatch(array<AvroFlumeEvent> events)`.
    append_batch,
  };

  kind what = kind::ping;
  std::vector<event> events;
};

/// The server side of one connection: decodes the requests of the packs a
/// client sends and encodes the replies. The first request of a connection
/// carries the handshake, which is answered with match BOTH (the client's
/// protocol is taken as AvroSourceProtocol; a call of any other message is
/// refused); later requests come without one, as on Avro's stateful Netty
/// connections.
class avro_source_responder {
public:
  /// Decodes the request `pack` holds. Throws `protocol_error` if it does
  /// not decode, names a message AvroSourceProtocol does not have, or has
  /// bytes left over.
  request read(const netty_pack& pack);

  /// The reply to the request just read, answered with `st`.
  std::vector<std::string> reply(status st) const;

  /// The reply that tells the client its request failed with `message` (an
  /// Avro system error), for a request that could not be served.
  std::vector<std::string> error_reply(const std::string& message) const;

private:
  server_handshake handshake_;
  bool ping_ = false;
};

/// The client side of AvroSourceProtocol, as a Flume AvroSink speaks it
/// (for the examples and benchmarks that play the Flume agent): encodes
/// `appendBatch` calls and reads their replies. The first call of a
/// connection carries the handshake.
class avro_source_requestor {
public:
  avro_source_requestor();

  /// Appends the pack of an `appendBatch` call of `events` to `out`.
  void append_batch(std::string& out, const std::vector<event>& events);

  /// Feeds the next `size` bytes the server sent and appends the status of
  /// each reply they complete to `out`. Throws `protocol_error` for a
  /// reply that does not decode or carries an error (its text).
  void feed(const char* data, size_t size, std::vector<status>& out);

private:
  netty_decoder decoder_;
  std::vector<netty_pack> packs_;
  int32_t serial_ = 0;
  bool handshake_sent_ = false;
  bool handshake_read_ = false;
};

/// One client connection of a Flume Avro source: bytes in, replies out.
/// `handler` serves each call with events and says its status. With
/// `compressed` (Spark's `enableDecompression`, for a sink with
/// `compression-type = deflate`) the bytes each way are a zlib stream
/// (`inflater`, `deflater`).
class flume_connection {
public:
  using handler = std::function<status(request&&)>;

  explicit flume_connection(size_t max_request, bool compressed = false);

  /// Feeds the next `size` bytes the client sent; serves the calls they
  /// complete, in order, and appends their replies (Netty packs) to
  /// `replies`. Throws `protocol_error` for bytes that are no request:
  /// `replies` then holds the replies to the calls before it and, for a
  /// well-framed request that does not decode, an error reply saying why;
  /// the call itself was not served. Compressed, bytes that do not inflate
  /// are no request; not compressed, a connection that starts as a zlib
  /// stream does (a sink that compresses) is refused at its first bytes.
  void feed(const char* data, size_t size, const handler& serve,
            std::string& replies);

  /// Returns whether a request has begun and not ended.
  bool in_request() const noexcept {
    return decoder_.in_pack();
  }

  /// The bytes of the unfinished request received so far (inflated).
  size_t pending_bytes() const noexcept {
    return decoder_.pending_bytes();
  }

private:
  // Serves the calls of the next `size` bytes of requests (inflated).
  void serve_bytes(const char* data, size_t size, const handler& serve,
                   std::string& replies);

  // Throws once the connection's first two bytes start a zlib stream.
  void refuse_compressed(const char* data, size_t size);

  netty_decoder decoder_;
  avro_source_responder responder_;
  std::vector<netty_pack> packs_;
  // Both null unless compressed.
  std::unique_ptr<inflater> inflater_;
  std::unique_ptr<deflater> deflater_;
  // Not compressed: the connection's first bytes, until there are two.
  std::string head_;
};

} // namespace caf_stream::flume::detail
