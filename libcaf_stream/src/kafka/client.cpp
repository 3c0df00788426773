#include "client.hpp"

#include <string>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::kafka::detail {

namespace {

// librdkafka's own log lines go to the "kafka" logger.
void log_line(const rd_kafka_t*, int level, const char* facility,
              const char* text) {
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  caf_stream::detail::logger("kafka")->log(lvl, "librdkafka {}: {}", facility,
                                           text);
}

// Sets `ps` on `conf`; destroys it and throws as `make_client` says for a
// setting librdkafka refuses.
void set_all(rd_kafka_conf_t* conf, const params& ps, const char* who) {
  char errstr[512];
  for (auto& [k, v] : ps) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr))
        != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw stream_error(errc::invalid_config,
                         std::string{who} + ": parameter '" + k + "': "
                           + errstr);
    }
  }
}

} // namespace

handle_ptr make_client(rd_kafka_type_t type, const params& ps, const char* who,
                       void (*setup)(rd_kafka_conf_t*)) {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_line);
  if (setup != nullptr)
    setup(conf);
  set_all(conf, ps, who);
  // On success the client owns the configuration.
  auto* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    auto what = type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
    throw stream_error(errc::invalid_config, std::string{who}
                                               + ": cannot create a " + what
                                               + ": " + errstr);
  }
  return handle_ptr{rk};
}

void check_settings(const params& ps, const char* who) {
  auto* conf = rd_kafka_conf_new();
  set_all(conf, ps, who);
  rd_kafka_conf_destroy(conf);
}

} // namespace caf_stream::kafka::detail
