#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include "caf_stream/detail/log.hpp"

namespace support {

/// Keeps what a caf-stream component logs while this object lives (besides
/// its usual output). Create it before the context that logs, so that it
/// outlives the context's threads.
class log_capture {
public:
  explicit log_capture(const std::string& component)
    : logger_(caf_stream::detail::logger(component)),
      sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    logger_->sinks().push_back(sink_);
  }

  ~log_capture() {
    auto& sinks = logger_->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }

  log_capture(const log_capture&) = delete;

  log_capture& operator=(const log_capture&) = delete;

  /// Returns whether a line logged so far contains `text`.
  bool contains(const std::string& text) const {
    auto lines = sink_->last_formatted();
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& x) {
      return x.find(text) != std::string::npos;
    });
  }

private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

} // namespace support
