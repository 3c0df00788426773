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
    auto where = host_ + ":" + std::to_string(port_);
    auto stopped = [this] { return this->is_stopped(); };
    std::string err;
    auto fd = detail::connect_tcp(host_, port_, err, stopped);
    if (fd < 0) {
      if (!this->is_stopped())
        this->restart("error connecting to " + where + ": " + err);
      return;
    }
    detail::socket_streambuf buf{fd, stopped};
    std::istream in{&buf};
    std::string failure;
    try {
      while (!this->is_stopped()) {
        auto x = converter_(in);
        if (!x)
          break;
        this->store(std::move(*x));
      }
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an exception that is no std::exception";
    }
    if (this->is_stopped())
      return;
    if (!buf.error().empty())
      this->restart("error receiving from " + where + ": " + buf.error());
    else if (!failure.empty())
      this->restart("socket_stream " + where
                    + ": the converter failed: " + failure);
    else
      this->restart("socket data stream from " + where + " had no more data");
  }

private:
  std::string host_;
  uint16_t port_;
  socket_converter<T> converter_;
};

} // namespace caf_stream
