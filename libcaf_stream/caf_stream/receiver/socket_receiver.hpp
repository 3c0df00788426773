#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "caf_stream/receiver/receiver.hpp"

namespace caf_stream {

/// The receiver of `socket_text_stream` (Spark's `SocketReceiver`): connects
/// to a TCP server and stores each UTF-8 line (split on '\n', a trailing '\r'
/// removed). A line longer than `max_line_length` bytes is reported as an
/// error and skipped up to its end; the receiver keeps running. When the peer
/// closes the connection, or it cannot be reached, the receiver restarts.
/// Each read's complete lines go to the block at once (`store_lines`); the
/// tasks that read the block cut them into strings.
class socket_receiver final : public receiver<std::string> {
public:
  socket_receiver(std::string host, uint16_t port, size_t max_line_length);

  ~socket_receiver() override;

  void on_start() override;

  void on_stop() override;

  /// Lines skipped because they exceeded `max_line_length`.
  uint64_t rejected_lines() const noexcept {
    return rejected_;
  }

private:
  void receive();

  std::string host_;
  uint16_t port_;
  size_t max_line_length_;
  // The connected socket (-1: none), guarded so that `on_stop` never shuts
  // down a socket that is being closed, nor misses one being connected.
  std::mutex fd_mtx_;
  int fd_ = -1;
  std::atomic<uint64_t> rejected_{0};
  std::thread thread_;
};

} // namespace caf_stream
