#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <istream>
#include <optional>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream {

namespace detail {

/// Connects to `host:port` over TCP; returns the socket, or -1 with `err`
/// set. Gives up, with `err` empty, once `stopped()` holds (asked every
/// 100 ms while the connection is under way).
int connect_tcp(const std::string& host, uint16_t port, std::string& err,
                const std::function<bool()>& stopped);

/// The input of a connected socket, which it owns, as a `std::streambuf`
/// for a `std::istream`: each read waits 100 ms at most, and the stream
/// ends once `stopped()` holds, at the peer's end, or at a failed read
/// (`error()` says why).
class socket_streambuf final : public std::streambuf {
public:
  socket_streambuf(int fd, std::function<bool()> stopped);

  ~socket_streambuf() override;

  socket_streambuf(const socket_streambuf&) = delete;

  socket_streambuf& operator=(const socket_streambuf&) = delete;

  /// Why the stream ended early: a failed read (empty otherwise).
  const std::string& error() const noexcept {
    return error_;
  }

protected:
  int_type underflow() override;

private:
  int fd_;
  std::function<bool()> stopped_;
  std::vector<char> buf_;
  std::string error_;
};

/// The receiving thread of `socket_stream` and `raw_socket_stream`:
/// connects `self` to `host:port` and calls `read(in, where)` with the
/// connection's stream and "host:port", which reads until the stream ends
/// or `self` stops and returns why it stopped. Then, unless `self` stopped,
/// restarts it with that reason, or with a failed read's or connect's.
void receive_connected(
  receiver_base& self, const std::string& host, uint16_t port,
  const std::function<std::string(std::istream&, const std::string&)>& read);

} // namespace detail

/// What `socket_stream` reads each record with (Spark's `converter`,
/// `InputStream => Iterator[T]`, one call per `next`): the next record from
/// the connection's stream, or none at its end.
template <class T>
using socket_converter = std::function<std::optional<T>(std::istream&)>;

/// The receiver of `socket_stream` (Spark's `SocketReceiver` with a
/// converter): connects to a TCP server and stores what `converter` reads,
/// record by record. When the stream ends (the peer closed it, or the
/// converter returned none) or the converter throws, it keeps what it
/// stored and restarts with the reason, as Spark's does: a converter
/// that throws on a malformed record loses no record before it.
template <class T>
class socket_stream_receiver final : public threaded_receiver<T> {
public:
  socket_stream_receiver(std::string host, uint16_t port,
                         socket_converter<T> converter)
    : host_(std::move(host)), port_(port), converter_(std::move(converter)) {
    // nop
  }

  ~socket_stream_receiver() override {
    this->join();
  }

protected:
  void receive() override {
    detail::receive_connected(
      *this, host_, port_,
      [this](std::istream& in, const std::string& where) {
        return read_records(in, where);
      });
  }

private:
  // Stores what the converter reads from `in` until it ends; returns why.
  std::string read_records(std::istream& in, const std::string& where) {
    std::string failure;
    try {
      while (!this->is_stopped()) {
        auto x = converter_(in);
        if (!x)
          return "socket data stream from " + where + " had no more data";
        this->store(std::move(*x));
      }
      return {};
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an exception that is no std::exception";
    }
    return "socket_stream " + where + ": the converter failed: " + failure;
  }

  std::string host_;
  uint16_t port_;
  socket_converter<T> converter_;
};

} // namespace caf_stream
