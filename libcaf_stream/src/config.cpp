#include "caf_stream/config.hpp"

#include <thread>

#include "caf_stream/detail/bad_value.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream {

void detail::bad_value(const std::string& key, const std::string& value,
                       const std::string& rule) {
  throw stream_error(errc::invalid_config,
                     key + " = " + value + " is invalid: " + rule);
}

using detail::bad_value;

wal_sync parse_wal_sync(const std::string& x) {
  if (x == "every-block")
    return wal_sync::every_block;
  if (x == "every-interval")
    return wal_sync::every_interval;
  if (x == "never")
    return wal_sync::never;
  bad_value("stream.receiver.write-ahead-log.sync", x,
            "it must be every-block, every-interval or never");
}

std::string to_string(wal_sync x) {
  switch (x) {
    case wal_sync::every_block:
      return "every-block";
    case wal_sync::every_interval:
      return "every-interval";
    case wal_sync::never:
      break;
  }
  return "never";
}

void stream_options::validate() const {
  if (block_interval.count() <= 0)
    bad_value("stream.block-interval", to_string(block_interval),
              "it must be positive");
  if (receiver_restart_delay.count() < 0)
    bad_value("stream.receiver.restart-delay",
              to_string(receiver_restart_delay), "it must not be negative");
  if (write_ahead_log_rolling_interval.count() <= 0)
    bad_value("stream.receiver.write-ahead-log.rolling-interval",
              to_string(write_ahead_log_rolling_interval),
              "it must be positive");
  if (max_line_length == 0)
    bad_value("stream.receiver.max-line-length", "0", "it must be positive");
  if (file_stream_min_remember_duration.count() <= 0)
    bad_value("stream.file-stream.min-remember-duration",
              to_string(file_stream_min_remember_duration),
              "it must be positive");
  if (graceful_stop_timeout && graceful_stop_timeout->count() < 0)
    bad_value("stream.graceful-stop-timeout",
              to_string(*graceful_stop_timeout), "it must not be negative");
  auto not_negative = [](const char* key, double x) {
    if (!(x >= 0))
      bad_value(key, std::to_string(x), "it must not be negative");
  };
  not_negative("stream.receiver.max-rate", max_rate);
  not_negative("stream.kafka.min-rate-per-partition",
               kafka_min_rate_per_partition);
  not_negative("stream.backpressure.initial-rate", backpressure_initial_rate);
  not_negative("stream.backpressure.pid.proportional", pid_proportional);
  not_negative("stream.backpressure.pid.integral", pid_integral);
  not_negative("stream.backpressure.pid.derived", pid_derived);
  if (!(pid_min_rate > 0))
    bad_value("stream.backpressure.pid.min-rate", std::to_string(pid_min_rate),
              "it must be positive");
  if (block_queue_size == 0)
    bad_value("stream.block-queue-size", "0", "it must be positive");
  for (const auto& node : state_nodes)
    parse_node_address(node, "stream.nodes");
  if (placement == receiver_placement::workers && !with_nodes())
    bad_value("stream.receiver.placement", "workers",
              "it needs worker nodes in stream.nodes, or nodes that join "
              "at stream.driver-port");
  if (driver_bind_address.empty())
    bad_value("stream.driver-bind-address", "", "it must name an address");
  if (!driver.empty())
    parse_node_address(driver, "stream.driver");
  if (placement == receiver_placement::workers && write_ahead_log)
    bad_value("stream.receiver.placement", "workers",
              "the receiver write-ahead log is written by the driver: with "
              "stream.receiver.write-ahead-log.enable the receivers run on "
              "the driver");
  if (tasks == task_placement::workers && !with_nodes())
    bad_value("stream.task.placement", "workers",
              "it needs worker nodes in stream.nodes, or nodes that join "
              "at stream.driver-port");
  if (task_max_failures == 0)
    bad_value("stream.task.max-failures", "0", "it must be positive");
  if (!(speculation_multiplier >= 1.0))
    bad_value("stream.speculation.multiplier",
              std::to_string(speculation_multiplier), "it must be at least 1");
  if (speculation_min_task_runtime.count() <= 0)
    bad_value("stream.speculation.min-task-runtime",
              to_string(speculation_min_task_runtime), "it must be positive");
  if (shuffle_fetch_chunk == 0)
    bad_value("stream.shuffle.fetch-chunk", "0", "it must be positive");
  if (shuffle_max_in_flight == 0)
    bad_value("stream.shuffle.max-in-flight", "0", "it must be positive");
  if (receiver_replication < 1 || receiver_replication > 2)
    bad_value("stream.receiver.replication",
              std::to_string(receiver_replication), "it must be 1 or 2");
  if (state_timeout.count() <= 0)
    bad_value("stream.state-timeout", to_string(state_timeout),
              "it must be positive");
  if (state_log_limit == 0)
    bad_value("stream.state-log-limit", "0", "it must be positive");
  if (kafka_max_rate_per_partition < 0)
    bad_value("stream.kafka.max-rate-per-partition",
              std::to_string(kafka_max_rate_per_partition),
              "it must not be negative");
  if (kafka_poll_timeout.count() <= 0)
    bad_value("stream.kafka.poll-timeout",
              std::to_string(kafka_poll_timeout.count()) + "ms",
              "it must be positive");
  if (listener_bus_capacity == 0)
    bad_value("stream.listener-bus.capacity", "0", "it must be positive");
  if (ui_retained_batches == 0)
    bad_value("stream.ui.retained-batches", "0", "it must be positive");
  if (ui_address.empty())
    bad_value("stream.ui.address", "", "it must name an address");
  if (workers > 1024)
    bad_value("stream.workers", std::to_string(workers),
              "it must be at most 1024");
}

std::pair<std::string, uint16_t> parse_node_address(const std::string& x,
                                                    const char* key) {
  auto colon = x.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == x.size())
    bad_value(key, x, "it must be written as host:port");
  auto digits = x.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    bad_value(key, x, "the port must be a number from 1 to 65535");
  auto port = std::stoul(digits);
  if (port == 0 || port > 65535)
    bad_value(key, x, "the port must be a number from 1 to 65535");
  return {x.substr(0, colon), static_cast<uint16_t>(port)};
}

receiver_placement parse_receiver_placement(const std::string& x) {
  if (x == "workers")
    return receiver_placement::workers;
  if (x == "driver")
    return receiver_placement::driver;
  bad_value("stream.receiver.placement", x, "it must be workers or driver");
}

task_placement parse_task_placement(const std::string& x) {
  if (x == "workers")
    return task_placement::workers;
  if (x == "driver")
    return task_placement::driver;
  bad_value("stream.task.placement", x, "it must be workers or driver");
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
