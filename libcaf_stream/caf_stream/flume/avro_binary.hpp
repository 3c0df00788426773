#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "caf_stream/flume/event.hpp"

/// Avro's binary encoding, as far as Flume's protocols use it: the values
/// of AvroSourceProtocol and SparkFlumeProtocol and of Avro RPC's
/// handshake. Debian has no Avro RPC library and avro-c allocates what a
/// length says before checking it, so this is ours: every length is
/// checked against the bytes that are there before anything is allocated.
namespace caf_stream::flume::detail {

/// Bytes a peer sent that are not the protocol over Netty framing
/// (malformed framing, a message past the size limit, one that does not
/// decode). The connection cannot go on after one.
class protocol_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Appends Avro's binary encoding of a long: zig-zag, then a varint.
inline void put_long(std::string& out, int64_t x) {
  auto u = (static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7F) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}

/// Reads Avro's binary encoding from a message's bytes (a request or a
/// reply). Every length and count is checked against the bytes left before
/// anything is read or allocated for it; throws `protocol_error` saying
/// where the bytes stop making sense.
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

  /// Reads a Flume event (`AvroFlumeEvent`, `SparkSinkEvent`: a map of
  /// strings, then bytes); `what` names it in an error.
  event read_event(const char* what) {
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
                         + std::to_string(pos_) + " of the message)");
  }

  std::string_view in_;
  size_t pos_ = 0;
};

/// The size of Avro RPC's `MD5` (a fixed), the hash of a protocol's text.
constexpr size_t md5_size = 16;

/// Appends Avro's binary encoding of bytes or a string: the length, then
/// the bytes.
inline void put_bytes(std::string& out, std::string_view x) {
  put_long(out, static_cast<int64_t>(x.size()));
  out += x;
}

/// Appends an array of Flume events (`AvroFlumeEvent`s, `SparkSinkEvent`s:
/// a map of strings, then bytes), in one block.
inline void put_events(std::string& out, const std::vector<event>& events) {
  if (!events.empty()) {
    put_long(out, static_cast<int64_t>(events.size()));
    for (const auto& e : events) {
      if (!e.headers.empty()) {
        put_long(out, static_cast<int64_t>(e.headers.size()));
        for (const auto& [key, value] : e.headers) {
          put_bytes(out, key);
          put_bytes(out, value);
        }
      }
      out.push_back('\0');
      put_bytes(out, e.body);
    }
  }
  out.push_back('\0');
}

} // namespace caf_stream::flume::detail
