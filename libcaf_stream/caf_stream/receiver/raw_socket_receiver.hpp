#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <istream>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/receiver/socket_stream_receiver.hpp"

namespace caf_stream {

/// One block as `raw_socket_stream` reads it, for a sender to write (as
/// Spark's `RawTextSender` writes blocks with Spark's serializer): the
/// length of the rest as 4 bytes, big-endian, then `records` in the wire
/// form of caf-stream's nodes (Boost.Serialization, of the same version).
template <class T>
std::string raw_block_bytes(const std::vector<T>& records) {
  static_assert(detail::is_serializable<T>::value,
                "raw_block_bytes: the records need Boost.Serialization's "
                "serialize");
  auto body = detail::to_bytes(records);
  if (body.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw std::length_error("raw_block_bytes: a block of "
                            + std::to_string(body.size())
                            + " bytes does not fit its 4-byte length");
  auto n = static_cast<uint32_t>(body.size());
  std::string result{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return result + body;
}

namespace detail {

/// How reading one block of `raw_block_bytes`' form ended.
enum class raw_read { block, end, cut_short };

/// Reads one block of `raw_block_bytes`' form from `in` into `body`:
/// `block` when it arrived whole, `end` at the stream's end before its
/// first byte, `cut_short` otherwise (`got` of its `length` bytes arrived,
/// counting the 4 of the length, which are all it knows of a block cut
/// within them).
/// The bytes are read as they come, so a length that no block follows
/// costs no memory. Throws `std::length_error` on a negative length.
raw_read read_raw_block(std::istream& in, std::string& body, size_t& got,
                        size_t& length);

} // namespace detail

/// The receiver of `raw_socket_stream` (Spark's `RawNetworkReceiver`):
/// connects to a TCP server, reads blocks of `raw_block_bytes`' form and
/// stores each one's records whole, as one block of the stream. Blocks
/// are decoded as they arrive: a malformed one (a negative length, or
/// bytes that do not decode as a vector of `T`) is refused with its number
/// and the reason, and the receiver keeps the blocks before it and
/// restarts, as it does when the stream ends (within a block too).
template <class T>
class raw_socket_receiver final : public threaded_receiver<T> {
public:
  static_assert(detail::is_serializable<T>::value,
                "raw_socket_stream: the records need Boost.Serialization's "
                "serialize");

  raw_socket_receiver(std::string host, uint16_t port)
    : host_(std::move(host)), port_(port) {
    // nop
  }

  ~raw_socket_receiver() override {
    this->join();
  }

protected:
  void receive() override {
    detail::receive_connected(
      *this, host_, port_,
      [this](std::istream& in, const std::string& where) {
        return read_blocks(in, where);
      });
  }

private:
  // Stores the blocks `in` holds until it ends or one is malformed;
  // returns why it stopped.
  std::string read_blocks(std::istream& in, const std::string& where) {
    std::string body;
    for (size_t number = 1; !this->is_stopped(); ++number) {
      size_t got = 0;
      size_t length = 0;
      auto prefix = "raw_socket_stream " + where + ": block "
                    + std::to_string(number);
      std::vector<T> records;
      try {
        switch (detail::read_raw_block(in, body, got, length)) {
          case detail::raw_read::end:
            return "raw socket data stream from " + where
                   + " had no more data";
          case detail::raw_read::cut_short:
            return prefix + " was cut short: " + std::to_string(got) + " of "
                   + std::to_string(length) + " bytes";
          case detail::raw_read::block:
            break;
        }
        detail::from_bytes(body, records);
      } catch (const std::exception& e) {
        return prefix + " is malformed: " + e.what();
      }
      if (!records.empty())
        this->store(std::move(records));
    }
    return {};
  }

  std::string host_;
  uint16_t port_;
};

} // namespace caf_stream
