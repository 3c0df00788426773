#include "caf_stream/config.hpp"

#include <thread>

#include "caf_stream/error.hpp"

namespace caf_stream {

namespace {

[[noreturn]] void bad_value(const char* key, const std::string& value,
                            const char* rule) {
  throw stream_error(errc::invalid_config, std::string{key} + " = " + value
                                             + " is invalid: " + rule);
}

} // namespace

void stream_options::validate() const {
  if (block_interval.count() <= 0)
    bad_value("stream.block-interval", to_string(block_interval),
              "it must be positive");
  if (receiver_restart_delay.count() < 0)
    bad_value("stream.receiver.restart-delay",
              to_string(receiver_restart_delay), "it must not be negative");
  if (max_line_length == 0)
    bad_value("stream.receiver.max-line-length", "0", "it must be positive");
  if (workers > 1024)
    bad_value("stream.workers", std::to_string(workers),
              "it must be at most 1024");
}

stream_options stream_options::resolved() const {
  auto result = *this;
  if (result.workers == 0)
    result.workers = std::max(1u, std::thread::hardware_concurrency());
  if (result.default_parallelism == 0)
    result.default_parallelism = result.workers;
  return result;
}

} // namespace caf_stream
