#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream::zeromq {

/// A ZeroMQ message: its frames (for a SUB socket, the first is the topic).
using frames = std::vector<std::string>;

/// Bahir's `textMessageConverter`: the frames after the topic, as text.
std::vector<std::string> text_converter(const frames& msg);

/// The socket a ZeroMQ stream reads from.
enum class socket_kind {
  /// SUB, with one subscription per topic (Bahir's `ZeroMQUtils.createStream`).
  sub,
  /// PULL: fan-in from PUSH sockets, which block (or drop, per their
  /// options) at their high-water mark while the receiver is held by the
  /// rate.
  pull,
};

namespace detail {

/// Checks a ZeroMQ endpoint ("tcp://host:port", "ipc://path",
/// "inproc://name"); throws `std::invalid_argument` naming `what`.
void check_endpoint(const std::string& url, const char* what);

/// A ZeroMQ socket that a receiver reads messages from (ZeroMQ's types stay
/// out of the headers).
class zmq_source {
public:
  /// Opens the socket and connects it to `url` (or binds it there);
  /// throws `stream_error` (errc::source_failure) if ZeroMQ refuses.
  zmq_source(socket_kind kind, const std::string& url,
             const std::vector<std::string>& topics, bool connect);

  ~zmq_source();

  zmq_source(const zmq_source&) = delete;

  zmq_source& operator=(const zmq_source&) = delete;

  /// Waits up to `timeout` for a message; returns false if none came.
  /// Throws `stream_error` (errc::source_failure) on a socket error.
  bool receive(frames& msg, duration timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The receiver of a ZeroMQ stream: reads messages on a thread of its own,
/// turns each into records with the converter and stores them. A converter
/// that throws skips the message with a reported error; a socket that
/// fails restarts the receiver.
template <class T>
class zmq_receiver final : public threaded_receiver<T> {
public:
  using converter = std::function<std::vector<T>(const frames&)>;

  zmq_receiver(socket_kind kind, std::string url,
               std::vector<std::string> topics, converter f, bool connect)
    : kind_(kind),
      url_(std::move(url)),
      topics_(std::move(topics)),
      convert_(std::move(f)),
      connect_(connect) {
    // nop
  }

  ~zmq_receiver() override {
    this->join();
  }

private:
  void receive() override {
    std::unique_ptr<zmq_source> source;
    try {
      source = std::make_unique<zmq_source>(kind_, url_, topics_, connect_);
    } catch (const std::exception& e) {
      this->restart(e.what());
      return;
    }
    frames msg;
    while (!this->is_stopped()) {
      try {
        // Short waits: a stopping receiver notices within one.
        if (!source->receive(msg, std::chrono::milliseconds(100)))
          continue;
      } catch (const std::exception& e) {
        this->restart(e.what());
        return;
      }
      std::vector<T> records;
      try {
        records = convert_(msg);
      } catch (const std::exception& e) {
        this->report_error("zeromq " + url_ + ": the converter failed ("
                           + e.what() + "); message skipped");
        continue;
      }
      for (auto& x : records)
        this->store(std::move(x));
    }
  }

  socket_kind kind_;
  std::string url_;
  std::vector<std::string> topics_;
  converter convert_;
  bool connect_;
};

} // namespace detail

} // namespace caf_stream::zeromq
