#include "caf_stream/flume/avro_rpc.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <utility>

namespace caf_stream::flume::detail {

namespace {

int32_t get_be32(const char* in) {
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i)
    x = (x << 8) | static_cast<unsigned char>(in[i]);
  return static_cast<int32_t>(x);
}

void put_be32(std::string& out, int32_t x) {
  auto u = static_cast<uint32_t>(x);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xFF));
}

// The replies a requestor reads have no size that matters: a status or an
// error text.
constexpr size_t max_reply = 1024 * 1024;

// HandshakeResponse {match = BOTH, serverProtocol = null, serverHash = null,
// meta = null}: the client's protocol is the server's.
const std::string handshake_both(4, '\0');

} // namespace

// -- netty_decoder ------------------------------------------------------------

netty_decoder::netty_decoder(size_t max_request, const char* what,
                             const char* limit)
  : max_request_(max_request), what_(what), limit_(limit) {
  // nop
}

void netty_decoder::feed(const char* data, size_t size,
                         std::vector<netty_pack>& out) {
  // Fills `buf_` up to `want` bytes; returns whether it has them.
  auto take = [&](size_t want) {
    auto n = std::min(want - buf_.size(), size);
    buf_.append(data, n);
    data += n;
    size -= n;
    return buf_.size() == want;
  };
  auto finish_pack = [&] {
    out.push_back(std::move(pack_));
    pack_ = netty_pack{};
    taken_ = 0;
    state_ = state::header;
  };
  auto too_large = [&](const std::string& what) {
    throw protocol_error(what + " (more than the limit of "
                         + std::to_string(max_request_) + " bytes, " + limit_
                         + ")");
  };
  for (;;) {
    switch (state_) {
      case state::header: {
        if (!take(8))
          return;
        pack_.serial = get_be32(buf_.data());
        auto count = get_be32(buf_.data() + 4);
        buf_.clear();
        if (count < 0)
          throw protocol_error(std::string{"a "} + what_ + " of "
                               + std::to_string(count)
                               + " frames (a negative count: no Netty "
                                 "framing; a compressed stream?)");
        taken_ = 8;
        if (8 + static_cast<uint64_t>(count) * 4 > max_request_)
          too_large(std::string{"a "} + what_ + " of "
                    + std::to_string(count) + " frames");
        frames_left_ = count;
        if (frames_left_ == 0)
          finish_pack();
        else
          state_ = state::frame_length;
        break;
      }
      case state::frame_length: {
        if (!take(4))
          return;
        auto len = get_be32(buf_.data());
        buf_.clear();
        if (len < 0)
          throw protocol_error("a frame of " + std::to_string(len)
                               + " bytes (a negative length)");
        taken_ += 4;
        if (taken_ + static_cast<uint64_t>(len) > max_request_)
          too_large(std::string{"a "} + what_ + " with a frame of "
                    + std::to_string(len) + " bytes");
        frame_size_ = static_cast<size_t>(len);
        state_ = state::frame;
        break;
      }
      case state::frame:
        if (!take(frame_size_))
          return;
        taken_ += frame_size_;
        pack_.frames.push_back(std::move(buf_));
        buf_ = std::string{};
        if (--frames_left_ == 0)
          finish_pack();
        else
          state_ = state::frame_length;
        break;
    }
  }
}

std::exception_ptr feed_packs(netty_decoder& decoder, const char* data,
                              size_t size, std::vector<netty_pack>& packs) {
  try {
    decoder.feed(data, size, packs);
  } catch (const protocol_error&) {
    return std::current_exception();
  }
  return nullptr;
}

void encode_pack(std::string& out, int32_t serial,
                 const std::vector<std::string>& frames) {
  put_be32(out, serial);
  put_be32(out, static_cast<int32_t>(frames.size()));
  for (const auto& frame : frames) {
    put_be32(out, static_cast<int32_t>(frame.size()));
    out += frame;
  }
}

std::string_view bytes_of(const netty_pack& pack, std::string& joined) {
  if (pack.frames.size() == 1)
    return pack.frames.front();
  for (const auto& frame : pack.frames)
    joined += frame;
  return joined;
}

void read_handshake_reply(avro_reader& in, const char* protocol) {
  const char* what = "the handshake reply";
  auto match = in.read_long(what);
  if (match == 2)
    throw protocol_error(std::string{"the server does not know "} + protocol
                         + " as this client sends it (handshake match NONE)");
  if (match != 0 && match != 1)
    throw protocol_error("a handshake reply with match "
                         + std::to_string(match)
                         + " (HandshakeMatch has 3 symbols)");
  if (in.read_branch(2, what) == 1)
    in.read_bytes(what);
  if (in.read_branch(2, what) == 1)
    in.read_fixed(md5_size, what);
  if (in.read_branch(2, what) == 1)
    in.skip_map_of_bytes(what);
}

void expect_end(const avro_reader& in, const char* what) {
  if (in.remaining() != 0)
    throw protocol_error(std::string{"a "} + what
                         + " with bytes after its last value ("
                         + std::to_string(in.remaining()) + ")");
}

void read_call_outcome(avro_reader& in) {
  in.skip_map_of_bytes("the reply metadata");
  auto flag = in.read_fixed(1, "the reply's error flag");
  if (flag[0] == 0)
    return;
  // The union ["string"] of a message without declared errors.
  in.read_branch(1, "the reply's error");
  throw protocol_error("the server failed the call: "
                       + std::string{in.read_bytes("the reply's error")});
}

// -- server_handshake ---------------------------------------------------------

void server_handshake::read(avro_reader& in) {
  answer_ = !connected_;
  if (connected_)
    return;
  const char* what = "the handshake";
  in.read_fixed(md5_size, what);
  if (in.read_branch(2, what) == 1)
    in.read_bytes(what);
  in.read_fixed(md5_size, what);
  if (in.read_branch(2, what) == 1)
    in.skip_map_of_bytes(what);
  connected_ = true;
}

std::string_view server_handshake::read_call(avro_reader& in) {
  read(in);
  in.skip_map_of_bytes("the call metadata");
  return in.read_bytes("the message name");
}

std::vector<std::string> server_handshake::reply_frames() const {
  std::vector<std::string> frames;
  if (answer_)
    frames.push_back(handshake_both);
  return frames;
}

// -- avro_source_responder ----------------------------------------------------

request avro_source_responder::read(const netty_pack& pack) {
  constexpr const char* flume_event = "an AvroFlumeEvent";
  std::string joined;
  avro_reader in{bytes_of(pack, joined)};
  ping_ = false;
  auto name = handshake_.read_call(in);
  request result;
  if (name.empty()) {
    result.what = request::kind::ping;
    ping_ = true;
  } else if (name == "append") {
    result.what = request::kind::append;
    result.events.push_back(in.read_event(flume_event));
  } else if (name == "appendBatch") {
    result.what = request::kind::append_batch;
    // An event takes two bytes at least: no headers, an empty body.
    in.read_blocks(2, "the events of appendBatch", [&] {
      result.events.push_back(in.read_event(flume_event));
    });
  } else {
    throw protocol_error("a call of '" + std::string{name}
                         + "', which AvroSourceProtocol does not have (it has "
                           "append and appendBatch)");
  }
  expect_end(in, "request");
  return result;
}

std::vector<std::string> avro_source_responder::reply(status st) const {
  auto frames = handshake_.reply_frames();
  // A ping is answered with the handshake alone, as Java's Responder does.
  if (ping_)
    return frames;
  // Empty metadata, no error, then the Status.
  std::string body(2, '\0');
  put_long(body, static_cast<int64_t>(st));
  frames.push_back(std::move(body));
  return frames;
}

std::vector<std::string>
avro_source_responder::error_reply(const std::string& message) const {
  auto frames = handshake_.reply_frames();
  // Empty metadata, the error flag, then the union ["string"] of a message
  // without declared errors: its only branch, the text.
  std::string body{'\0', '\1', '\0'};
  put_bytes(body, message);
  frames.push_back(std::move(body));
  return frames;
}

// -- avro_source_requestor ----------------------------------------------------

avro_source_requestor::avro_source_requestor() : decoder_(max_reply) {
  // nop
}

void avro_source_requestor::append_batch(std::string& out,
                                         const std::vector<event>& events) {
  std::string call;
  if (!handshake_sent_) {
    // No hashes known: the server answers BOTH or sends its protocol.
    call.append(md5_size, '\0');
    call.push_back('\0');
    call.append(md5_size, '\0');
    call.push_back('\0');
    handshake_sent_ = true;
  }
  call.push_back('\0');
  put_bytes(call, "appendBatch");
  put_events(call, events);
  encode_pack(out, serial_++, {call});
}

void avro_source_requestor::feed(const char* data, size_t size,
                                 std::vector<status>& out) {
  packs_.clear();
  auto framing_error = feed_packs(decoder_, data, size, packs_);
  for (const auto& pack : packs_) {
    std::string joined;
    avro_reader in{bytes_of(pack, joined)};
    if (!handshake_read_) {
      read_handshake_reply(in, "AvroSourceProtocol");
      handshake_read_ = true;
    }
    read_call_outcome(in);
    auto st = in.read_long("the reply's status");
    if (st < 0 || st > 2)
      throw protocol_error("a reply with status " + std::to_string(st)
                           + " (Status has 3 symbols)");
    out.push_back(static_cast<status>(st));
  }
  if (framing_error)
    std::rethrow_exception(framing_error);
}

// -- flume_connection ---------------------------------------------------------

flume_connection::flume_connection(size_t max_request, bool compressed)
  : decoder_(max_request) {
  if (compressed) {
    inflater_ = std::make_unique<inflater>();
    deflater_ = std::make_unique<deflater>();
  }
}

void flume_connection::feed(const char* data, size_t size,
                            const handler& serve, std::string& replies) {
  if (!inflater_) {
    refuse_compressed(data, size);
    serve_bytes(data, size, serve, replies);
    return;
  }
  // The replies so far go out deflated also when a request fails.
  std::string plain;
  auto send_replies = [&] { deflater_->write(plain, replies); };
  try {
    inflater_->feed(data, size, [&](const char* bytes, size_t n) {
      serve_bytes(bytes, n, serve, plain);
    });
  } catch (const compression_error& e) {
    send_replies();
    auto what = "bytes that do not inflate (zlib: " + std::string{e.what()}
                + ")";
    if (inflater_->total_out() == 0)
      what += ": is the connection compressed at all? Without the sink's "
              "compression-type = deflate, leave enable_decompression off";
    throw protocol_error(what);
  } catch (const protocol_error&) {
    send_replies();
    throw;
  }
  send_replies();
}

void flume_connection::refuse_compressed(const char* data, size_t size) {
  if (head_.size() == 2)
    return;
  head_.append(data, std::min(size, 2 - head_.size()));
  // A pack's serial starts the connection: Avro's and avsc's clients count
  // from 0, so its first byte is 0, not a zlib header's 0x78 (a serial of
  // 2 billion or more).
  if (starts_like_zlib(head_))
    throw protocol_error("bytes that start a zlib stream (a sink with "
                         "compression-type = deflate), which this stream "
                         "reads with enable_decompression only");
}

void flume_connection::serve_bytes(const char* data, size_t size,
                                   const handler& serve,
                                   std::string& replies) {
  packs_.clear();
  // The calls before malformed framing are served first.
  auto framing_error = feed_packs(decoder_, data, size, packs_);
  for (auto& pack : packs_) {
    request req;
    try {
      req = responder_.read(pack);
    } catch (const protocol_error& e) {
      encode_pack(replies, pack.serial, responder_.error_reply(e.what()));
      throw;
    }
    auto st = req.what == request::kind::ping ? status::ok
                                              : serve(std::move(req));
    encode_pack(replies, pack.serial, responder_.reply(st));
  }
  if (framing_error)
    std::rethrow_exception(framing_error);
}

} // namespace caf_stream::flume::detail
