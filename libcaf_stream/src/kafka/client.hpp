#pragma once

// A librdkafka client (consumer or producer) with the user's settings, for
// the direct stream (`consumers.cpp`) and the sink (`sink.cpp`).

#include <memory>

#include <librdkafka/rdkafka.h>

#include "caf_stream/kafka/types.hpp"

namespace caf_stream::kafka::detail {

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const noexcept {
    rd_kafka_destroy(rk);
  }
};

using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;

/// A client of `type` with the settings `ps`, on a configuration that
/// `setup` (if any) prepared first; its log lines go to the "kafka" logger.
/// Throws `stream_error` (`errc::invalid_config`) for a setting librdkafka
/// refuses or a client it cannot create, saying "`who`: ...".
handle_ptr make_client(rd_kafka_type_t type, const params& ps, const char* who,
                       void (*setup)(rd_kafka_conf_t*) = nullptr);

/// Throws as `make_client` does for a setting of `ps` that librdkafka
/// refuses, without making a client (which would connect).
void check_settings(const params& ps, const char* who);

} // namespace caf_stream::kafka::detail
