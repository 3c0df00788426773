#pragma once

#include "caf_stream/time.hpp"

namespace caf_stream {

/// The source of time for a streaming context: the batch grid, block sealing
/// and the delays in `batch_info` all read it. Spark's `Clock`.
class clock {
public:
  virtual ~clock();

  /// The current time in milliseconds since the clock's epoch.
  virtual time now() const = 0;
};

/// Wall-clock time (milliseconds since the Unix epoch). Timers on this clock
/// are CAF's own (`delayed_send`).
class system_clock final : public clock {
public:
  time now() const override;
};

} // namespace caf_stream
