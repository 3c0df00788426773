#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "caf_stream/ui/streaming_statistics.hpp"

namespace caf_stream::ui {

/// The streaming UI's web server (Spark's web UI on port 4040, its
/// Streaming tab): the page, Spark's REST API under `/api/v1` and the
/// Prometheus metrics under `/metrics`, all read from `stats`. Serves on
/// threads of its own (cpp-httplib) from construction until `stop` or
/// destruction.
class web_server {
public:
  /// Listens on `address`:`port`, or on the next free port of up to 16
  /// after it if that one is taken (Spark's `spark.port.maxRetries`); port
  /// 0: any free port. Throws `stream_error` (errc::invalid_config) saying
  /// why when it cannot listen.
  web_server(std::shared_ptr<const streaming_statistics> stats,
             const std::string& address, uint16_t port);

  ~web_server();

  web_server(const web_server&) = delete;

  web_server& operator=(const web_server&) = delete;

  /// The port it listens on.
  uint16_t port() const noexcept;

  /// "http://address:port/".
  std::string url() const;

  /// Stops serving and waits for the server's threads.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace caf_stream::ui
