#pragma once

#include "caf/actor_system_config.hpp"

#include "caf_stream/config.hpp"

namespace caf_stream {

/// Declares the `stream.*` options in an option set, so that
/// `caf-application.ini` and `--stream.key=value` flags can set them. Call
/// it from your own config's constructor: `add_stream_options(custom_options_)`.
void add_stream_options(caf::config_option_set& opts);

/// Reads the `stream.*` options of `cfg` (defaults where unset) and
/// validates them (`stream_error` naming the bad key).
stream_options read_stream_options(const caf::actor_system_config& cfg);

/// An actor system configuration with the `stream.*` options declared.
class stream_config : public caf::actor_system_config {
public:
  stream_config();
};

} // namespace caf_stream
