#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace caf_stream {

/// Every error condition caf-stream reports, carried by `stream_error`.
/// Between actors (and nodes), failures travel as `caf::error`s of this
/// category (`caf_stream/actors/error.hpp`), with the message as context.
enum class errc : uint8_t {
  /// A call breaks one of Spark's rules for building a graph (bad window,
  /// graph changed after start, no output operation, ...).
  invalid_graph = 1,
  /// A configuration value is out of range or malformed.
  invalid_config,
  /// The context is in the wrong state for the call (started twice, ...).
  illegal_state,
  /// An input source failed (peer gone, unreadable file, overlong line, ...).
  source_failure,
  /// A job (a user function or an output) threw while a batch ran.
  job_failure,
  /// A timeout passed before the awaited event happened.
  timeout,
  /// A checkpoint cannot be written or read (corrupt, truncated, foreign,
  /// from a newer format, or from a different graph).
  bad_checkpoint,
  /// An output sink (a database) refused a batch after its retries.
  sink_failure,
};

/// Returns the name of `x`, e.g. "invalid_graph".
std::string to_string(errc x);

/// The exception caf-stream throws at API-misuse points (graph building,
/// configuration) and from `await_termination` when a job failed.
class stream_error : public std::runtime_error {
public:
  stream_error(errc code, const std::string& what)
    : std::runtime_error(what), code_(code) {
    // nop
  }

  /// The condition behind this exception.
  errc code() const noexcept {
    return code_;
  }

private:
  errc code_;
};

} // namespace caf_stream
