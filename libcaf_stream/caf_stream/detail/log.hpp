#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace caf_stream::detail {

/// Returns the spdlog logger of a component, creating it on first use. The
/// logger is named `caf_stream.<component>` ("caf_stream.receiver", ...),
/// writes to stderr and obeys `caf_stream::set_log_level`.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

} // namespace caf_stream::detail

namespace caf_stream {

/// Sets the level of every caf-stream logger: "trace", "debug", "info",
/// "warn", "error", "critical" or "off". Throws `stream_error` on any other.
void set_log_level(const std::string& level);

} // namespace caf_stream
