#pragma once

#include <cstddef>
#include <string>

#include "caf_stream/duration.hpp"

namespace caf_stream {

/// The runtime settings of a streaming context. In an actor application they
/// come from CAF's configuration (`caf-application.ini`, `--key=value`) under
/// the keys named below; see `caf_stream::stream_config`.
struct stream_options {
  /// `stream.block-interval`: how often received records are sealed into a
  /// block (Spark's `spark.streaming.blockInterval`, 200 ms).
  duration block_interval{200};

  /// `stream.workers`: operator workers that run tasks (0: one per core).
  size_t workers = 0;

  /// `stream.default-parallelism`: partitions of by-key operations that name
  /// no count (0: as many as workers).
  size_t default_parallelism = 0;

  /// `stream.receiver.restart-delay`: pause before a receiver is started
  /// again (Spark's `spark.streaming.receiverRestartDelay`, 2 s).
  duration receiver_restart_delay{2000};

  /// `stream.receiver.max-line-length`: longest line (bytes) the socket and
  /// file sources accept; longer lines are reported and skipped.
  size_t max_line_length = 1 << 20;

  /// Throws `stream_error` (errc::invalid_config) naming the key and value
  /// of the first setting that is out of range.
  void validate() const;

  /// Fills the zero ("as many as ...") settings in with their actual values.
  stream_options resolved() const;
};

} // namespace caf_stream
