#pragma once

#include <string>

#include "caf/actor_system_config.hpp"

#include "caf_stream/config.hpp"

namespace caf_stream {

/// Declares the `stream.*` options in an option set, so that
/// `caf-application.ini` and `--stream.key=value` flags can set them. Call
/// it from your own config's constructor: `add_stream_options(custom_options_)`.
void add_stream_options(caf::config_option_set& opts);

/// Reads the `stream.*` options of `cfg` (defaults where unset) and
/// validates them, the middleman's heartbeats against its connection
/// timeout, which needs them more often, and the TLS files `openssl.*` name,
/// which it loads (`stream_error` naming the bad key).
stream_options read_stream_options(const caf::actor_system_config& cfg);

/// Registers the runtime's message types that may cross node boundaries
/// (blocks of received records, batch times) under the same names on every
/// node, and the `stream` error category with its renderer. `stream_config` calls it; call it from your own config otherwise.
void add_stream_message_types(caf::actor_system_config& cfg);

/// Sets the CAF scheduler defaults the runtime's latency relies on (workers
/// wait on a condition variable instead of sleeping polls when idle); the
/// command line and the config file still override them. `stream_config`
/// calls it; call it from your own config otherwise.
void set_stream_scheduler_defaults(caf::actor_system_config& cfg);

/// Sets the middleman defaults: heartbeats, which CAF 0.17 does not send by
/// default, so that a node notices a hung peer (SIGSTOP, a dead host behind
/// a live route): `middleman.heartbeat-interval` 1 s and
/// `middleman.connection-timeout` 5 s, needed on both sides of a link; and
/// under 8 cores `middleman.workers` 0 (messages deserialize in the
/// multiplexer's thread, without the copy CAF's one worker makes). The
/// command line and the config file still override them. `stream_config`
/// calls it; call it from your own config otherwise.
void set_stream_middleman_defaults(caf::actor_system_config& cfg);

/// Loads CAF's middleman into `cfg`, and the OpenSSL manager too when one of
/// `openssl.certificate`, `.key`, `.cafile` or `.capath` is set: call it
/// once, after parsing the command line and before the actor system
/// starts, in a program that runs as or talks to other nodes (instead of
/// loading the middleman yourself: CAF loads a module as often as asked).
void load_node_modules(caf::actor_system_config& cfg);

/// An actor system configuration with the `stream.*` options declared, the
/// message types registered and the scheduler and middleman defaults set.
class stream_config : public caf::actor_system_config {
public:
  stream_config();

  /// Parses a program's command line (and `caf-application.ini`, as CAF's
  /// `parse` does). Accepts `--key=value` and `--key value` for options that
  /// take a value, flags (`--generate`) and options anywhere among the
  /// positional arguments, which end up in `remainder`; a lone `--` ends the
  /// options. Returns an empty string on success, else one plain sentence
  /// naming the argument and what is wrong with it.
  std::string parse_command_line(int argc, char** argv);

  /// Checks the `stream.*` entries of the configuration file at `path` as
  /// the command line's options are checked (CAF's own reader accepts
  /// unknown keys and values of the wrong type silently, and stops at a NUL
  /// byte). Returns an empty string if the file is fine or absent (unless
  /// `must_exist`), else one plain sentence naming the file, the line and
  /// the key. `parse_command_line` calls it for `caf-application.ini` or the
  /// file `--config-file` names.
  std::string check_config_file(const std::string& path,
                                bool must_exist = false) const;
};

} // namespace caf_stream
