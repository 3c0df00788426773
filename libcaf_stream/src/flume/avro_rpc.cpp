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

// Avro's binary encoding of a long: zig-zag, then a varint.
void put_long(std::string& out, int64_t x) {
  auto u = (static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7F) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}

// Reads Avro's binary encoding from a request's bytes. Every length and
// count is checked against the bytes left before anything is read or
// allocated for it.
class avro_reader {
public:
  explicit avro_reader(std::string_view in) : in_(in) {
    // nop
  }

  size_t remaining() const noexcept {
    return in_.size() - pos_;
  }

  int64_t read_long(const char* what) {
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == in_.size())
        fail(what, "ends inside a number");
      auto b = static_cast<unsigned char>(in_[pos_++]);
      // The tenth byte holds the last bit of the 64.
      if (shift == 63 && b > 1)
        fail(what, "has a number of more than 64 bits");
      u |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0)
        return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    }
    fail(what, "has a number of more than 64 bits");
  }

  // Strings and bytes alike.
  std::string_view read_bytes(const char* what) {
    auto len = read_long(what);
    if (len < 0 || static_cast<uint64_t>(len) > remaining())
      fail(what, "has a length of " + std::to_string(len) + " with "
                   + std::to_string(remaining()) + " bytes left");
    auto result = in_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return result;
  }

  // A union's branch index, one of `branches`.
  int64_t read_branch(int64_t branches, const char* what) {
    auto i = read_long(what);
    if (i < 0 || i >= branches)
      fail(what, "has union branch " + std::to_string(i) + " of "
                   + std::to_string(branches));
    return i;
  }

  // The blocks of an array or map: calls `item` once per item. An item
  // takes at least `min_item` bytes, which bounds a block's count.
  template <class F>
  void read_blocks(size_t min_item, const char* what, F&& item) {
    for (;;) {
      auto count = read_long(what);
      if (count == 0)
        return;
      if (count < 0) {
        if (count == std::numeric_limits<int64_t>::min())
          fail(what, "has a block count out of range");
        count = -count;
        // The block's size in bytes, for readers that skip it.
        if (read_long(what) < 0)
          fail(what, "has a negative block size");
      }
      if (static_cast<uint64_t>(count) > remaining() / min_item)
        fail(what, "has a block of " + std::to_string(count) + " items in "
                     + std::to_string(remaining()) + " bytes");
      for (int64_t i = 0; i < count; ++i)
        item();
    }
  }

  void skip_map_of_bytes(const char* what) {
    read_blocks(2, what, [&] {
      read_bytes(what);
      read_bytes(what);
    });
  }

  std::string_view read_fixed(size_t n, const char* what) {
    if (n > remaining())
      fail(what, "ends inside a fixed of " + std::to_string(n) + " bytes");
    auto result = in_.substr(pos_, n);
    pos_ += n;
    return result;
  }

  event read_event() {
    const char* what = "an AvroFlumeEvent";
    event result;
    read_blocks(2, what, [&] {
      auto key = read_bytes(what);
      auto value = read_bytes(what);
      result.headers[std::string{key}] = std::string{value};
    });
    result.body = std::string{read_bytes(what)};
    return result;
  }

private:
  [[noreturn]] void fail(const char* what, const std::string& why) const {
    throw protocol_error(std::string{what} + " " + why + " (at byte "
                         + std::to_string(pos_) + " of the request)");
  }

  std::string_view in_;
  size_t pos_ = 0;
};

constexpr size_t md5_size = 16;

// Concatenates a pack's frames, which Avro reads as one stream of bytes
// (`joined` holds them when there is more than one).
std::string_view bytes_of(const netty_pack& pack, std::string& joined) {
  if (pack.frames.size() == 1)
    return pack.frames.front();
  for (const auto& frame : pack.frames)
    joined += frame;
  return joined;
}

void put_bytes(std::string& out, std::string_view x) {
  put_long(out, static_cast<int64_t>(x.size()));
  out += x;
}

// The replies a requestor reads have no size that matters: a status or an
// error text.
constexpr size_t max_reply = 1024 * 1024;

// HandshakeResponse {match = BOTH, serverProtocol = null, serverHash = null,
// meta = null}: the client's protocol is the server's.
const std::string handshake_both(4, '\0');

} // namespace

// -- netty_decoder ------------------------------------------------------------

netty_decoder::netty_decoder(size_t max_request) : max_request_(max_request) {
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
                         + std::to_string(max_request_)
                         + " bytes, flume::settings::max_request_size)");
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
          throw protocol_error("a request of " + std::to_string(count)
                               + " frames (a negative count: no Netty "
                                 "framing; a compressed stream?)");
        taken_ = 8;
        if (8 + static_cast<uint64_t>(count) * 4 > max_request_)
          too_large("a request of " + std::to_string(count) + " frames");
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
          too_large("a request with a frame of " + std::to_string(len)
                    + " bytes");
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

void encode_pack(std::string& out, int32_t serial,
                 const std::vector<std::string>& frames) {
  put_be32(out, serial);
  put_be32(out, static_cast<int32_t>(frames.size()));
  for (const auto& frame : frames) {
    put_be32(out, static_cast<int32_t>(frame.size()));
    out += frame;
  }
}

// -- avro_source_responder ----------------------------------------------------

request avro_source_responder::read(const netty_pack& pack) {
  std::string joined;
  avro_reader in{bytes_of(pack, joined)};
  answer_handshake_ = !connected_;
  ping_ = false;
  if (!connected_) {
    const char* what = "the handshake";
    in.read_fixed(md5_size, what);
    if (in.read_branch(2, what) == 1)
      in.read_bytes(what);
    in.read_fixed(md5_size, what);
    if (in.read_branch(2, what) == 1)
      in.skip_map_of_bytes(what);
    connected_ = true;
  }
  in.skip_map_of_bytes("the call metadata");
  auto name = in.read_bytes("the message name");
  request result;
  if (name.empty()) {
    result.what = request::kind::ping;
    ping_ = true;
  } else if (name == "append") {
    result.what = request::kind::append;
    result.events.push_back(in.read_event());
  } else if (name == "appendBatch") {
    result.what = request::kind::append_batch;
    // An event takes two bytes at least: no headers, an empty body.
    in.read_blocks(2, "the events of appendBatch",
                   [&] { result.events.push_back(in.read_event()); });
  } else {
    throw protocol_error("a call of '" + std::string{name}
                         + "', which AvroSourceProtocol does not have (it has "
                           "append and appendBatch)");
  }
  if (in.remaining() != 0)
    throw protocol_error("a request with bytes after its last value ("
                         + std::to_string(in.remaining()) + ")");
  return result;
}

std::vector<std::string> avro_source_responder::reply(status st) const {
  std::vector<std::string> frames;
  if (answer_handshake_)
    frames.push_back(handshake_both);
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
  std::vector<std::string> frames;
  if (answer_handshake_)
    frames.push_back(handshake_both);
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
  if (!events.empty()) {
    put_long(call, static_cast<int64_t>(events.size()));
    for (const auto& e : events) {
      if (!e.headers.empty()) {
        put_long(call, static_cast<int64_t>(e.headers.size()));
        for (const auto& [key, value] : e.headers) {
          put_bytes(call, key);
          put_bytes(call, value);
        }
      }
      call.push_back('\0');
      put_bytes(call, e.body);
    }
  }
  call.push_back('\0');
  encode_pack(out, serial_++, {call});
}

void avro_source_requestor::feed(const char* data, size_t size,
                                 std::vector<status>& out) {
  packs_.clear();
  decoder_.feed(data, size, packs_);
  for (const auto& pack : packs_) {
    std::string joined;
    avro_reader in{bytes_of(pack, joined)};
    if (!handshake_read_) {
      const char* what = "the handshake reply";
      if (in.read_long(what) != 0)
        throw protocol_error("the server does not take AvroSourceProtocol "
                             "as this client knows it (handshake match is "
                             "not BOTH)");
      if (in.read_branch(2, what) == 1)
        in.read_bytes(what);
      if (in.read_branch(2, what) == 1)
        in.read_fixed(md5_size, what);
      if (in.read_branch(2, what) == 1)
        in.skip_map_of_bytes(what);
      handshake_read_ = true;
    }
    in.skip_map_of_bytes("the reply metadata");
    auto flag = in.read_fixed(1, "the reply's error flag");
    if (flag[0] != 0) {
      in.read_branch(1, "the reply's error");
      throw protocol_error("the server failed the call: "
                           + std::string{in.read_bytes("the reply's error")});
    }
    auto st = in.read_long("the reply's status");
    if (st < 0 || st > 2)
      throw protocol_error("a reply with status " + std::to_string(st)
                           + " (Status has 3 symbols)");
    out.push_back(static_cast<status>(st));
  }
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
  std::exception_ptr framing_error;
  try {
    decoder_.feed(data, size, packs_);
  } catch (const protocol_error&) {
    framing_error = std::current_exception();
  }
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
