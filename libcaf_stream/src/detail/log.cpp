#include "caf_stream/detail/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

std::mutex log_mtx;
spdlog::level::level_enum log_level = spdlog::level::info;

} // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  auto name = "caf_stream." + component;
  std::lock_guard<std::mutex> guard{log_mtx};
  if (auto existing = spdlog::get(name))
    return existing;
  auto result = spdlog::stderr_color_mt(name);
  result->set_level(log_level);
  return result;
}

} // namespace caf_stream::detail

namespace caf_stream {

void set_log_level(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw stream_error(errc::invalid_config,
                       "unknown log level '" + level
                         + "': use trace, debug, info, warn, error, "
                           "critical or off");
  std::lock_guard<std::mutex> guard{detail::log_mtx};
  detail::log_level = lvl;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (l->name().rfind("caf_stream.", 0) == 0)
      l->set_level(lvl);
  });
}

} // namespace caf_stream
