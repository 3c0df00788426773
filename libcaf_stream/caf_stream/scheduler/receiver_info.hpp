#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "caf_stream/time.hpp"

namespace caf_stream {

/// The state of one receiver (Spark's `ReceiverInfo`), as the receiver
/// events of a `streaming_listener` report it.
struct receiver_info {
  /// The receiver's stream.
  int32_t stream_id = 0;
  /// What the stream is: "socket_text_stream", "receiver_stream", ...
  std::string name;
  /// Whether the receiver runs (false after an error until it restarted,
  /// and after it stopped).
  bool active = false;
  /// Where it runs ("driver": receivers run on the driver's node).
  std::string location = "driver";
  /// The last error it reported or restarted with, and when.
  std::string last_error;
  std::optional<time> last_error_time;
  /// The rate its records are held to, from `stream.receiver.max-rate` or
  /// backpressure (records per second; none: unlimited).
  std::optional<double> rate_limit;
};

} // namespace caf_stream
