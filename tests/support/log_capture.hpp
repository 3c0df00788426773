#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include "caf_stream/detail/log.hpp"

namespace support {

namespace detail {

/// Keeps the last lines logged to it and wakes up who waits for one.
class waitable_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// Whether a line kept contains `text`, waiting at most `timeout` for it.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{lines_mtx_};
    return cv_.wait_for(guard, timeout, [&] {
      return std::any_of(lines_.begin(), lines_.end(),
                         [&](const std::string& x) {
                           return x.find(text) != std::string::npos;
                         });
    });
  }

  /// The lines kept, oldest first.
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{lines_mtx_};
    return lines_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t out;
    formatter_->format(msg, out);
    {
      std::lock_guard<std::mutex> guard{lines_mtx_};
      if (lines_.size() == 1000)
        lines_.erase(lines_.begin());
      lines_.push_back(fmt::to_string(out));
    }
    cv_.notify_all();
  }

  void flush_() override {
    // nop
  }

private:
  std::mutex lines_mtx_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

} // namespace detail

/// Keeps what a caf-stream component logs while this object lives (besides
/// its usual output). Create it before the context that logs, so that it
/// outlives the context's threads.
class log_capture {
public:
  explicit log_capture(const std::string& component)
    : logger_(caf_stream::detail::logger(component)),
      sink_(std::make_shared<detail::waitable_sink>()) {
    logger_->sinks().push_back(sink_);
  }

  ~log_capture() {
    auto& sinks = logger_->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }

  log_capture(const log_capture&) = delete;

  log_capture& operator=(const log_capture&) = delete;

  /// Returns whether a line logged so far (of the last 1000) contains
  /// `text`.
  bool contains(const std::string& text) const {
    return sink_->wait_for(text, std::chrono::milliseconds(0));
  }

  /// Waits until a line contains `text`; false after `timeout` (a bound
  /// for a stuck test, not a timing assumption).
  bool wait_for(const std::string& text,
                std::chrono::milliseconds timeout = std::chrono::minutes(2)) {
    return sink_->wait_for(text, timeout);
  }

  /// The lines logged so far (the last 1000), oldest first.
  std::vector<std::string> lines() const {
    return sink_->lines();
  }

private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<detail::waitable_sink> sink_;
};

/// Makes a caf-stream component log its debug lines too while this object
/// lives (e.g. the executor's, which name where map tasks ran).
class debug_log {
public:
  explicit debug_log(const std::string& component)
    : logger_(caf_stream::detail::logger(component)),
      level_(logger_->level()) {
    logger_->set_level(spdlog::level::debug);
  }

  ~debug_log() {
    logger_->set_level(level_);
  }

  debug_log(const debug_log&) = delete;

  debug_log& operator=(const debug_log&) = delete;

private:
  std::shared_ptr<spdlog::logger> logger_;
  spdlog::level::level_enum level_;
};

} // namespace support
