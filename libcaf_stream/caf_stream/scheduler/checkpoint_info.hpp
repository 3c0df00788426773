#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// One checkpoint the checkpoint writer wrote, or tried to (not in Spark's
/// listener): the metrics' checkpoint write times.
struct checkpoint_info {
  /// The batch whose checkpoint it is.
  time batch_time;
  /// Whether it holds the state and RDD data (a data checkpoint), not only
  /// the metadata.
  bool with_data = false;
  /// How long writing it took (the temporary file, its sync and the
  /// rename), on the steady clock: an I/O time, not a batch time.
  std::chrono::microseconds write_time{0};
  /// Why writing it failed, if it did.
  std::optional<std::string> failure_reason;
};

} // namespace caf_stream
