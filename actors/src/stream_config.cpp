#include "caf_stream/actors/stream_config.hpp"

#include "caf/config_option_adder.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream {

void add_stream_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "stream"}
    .add<caf::timespan>("block-interval",
                        "interval at which received records become blocks")
    .add<size_t>("workers", "operator workers that run tasks (0: per core)")
    .add<size_t>("default-parallelism",
                 "partitions of by-key operations (0: as many as workers)");
  caf::config_option_adder{opts, "stream.receiver"}
    .add<caf::timespan>("restart-delay",
                        "pause before a failed receiver starts again")
    .add<size_t>("max-line-length",
                 "longest line (bytes) the text sources accept");
}

stream_options read_stream_options(const caf::actor_system_config& cfg) {
  using std::chrono::duration_cast;
  stream_options result;
  auto ms = [&](const char* key, duration fallback) {
    auto x = caf::get_or(cfg, key, caf::timespan{fallback});
    return duration_cast<duration>(x);
  };
  result.block_interval = ms("stream.block-interval", result.block_interval);
  result.workers = caf::get_or(cfg, "stream.workers", result.workers);
  result.default_parallelism
    = caf::get_or(cfg, "stream.default-parallelism", result.default_parallelism);
  result.receiver_restart_delay
    = ms("stream.receiver.restart-delay", result.receiver_restart_delay);
  result.max_line_length = caf::get_or(cfg, "stream.receiver.max-line-length",
                                       result.max_line_length);
  result.validate();
  return result;
}

void add_stream_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<block>("caf_stream::block");
  cfg.add_message_type<time>("caf_stream::time");
}

stream_config::stream_config() {
  add_stream_options(custom_options_);
  add_stream_message_types(*this);
}

} // namespace caf_stream
