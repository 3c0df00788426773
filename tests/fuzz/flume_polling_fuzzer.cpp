// libFuzzer target: what a Spark Sink answers a polling Flume stream
// (detail::spark_sink_requestor: Netty framing, the handshake's answer,
// SparkFlumeProtocol's replies). However the bytes are split into reads,
// the requestor must take the same replies and stop at the same error; no
// length a sink sends may make it read or allocate past the limit, and the
// events are made of the bytes sent.
//
// Input: byte 0 sets the reply size limit (64 bytes to 16 KiB), byte 1
// seeds the sizes of the reads, byte 2 picks the six calls made before
// (bit i set: getEventBatch, else ack); the rest is what the sink sends.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/flume/spark_sink_protocol.hpp"

#include "input.hpp"

namespace {

using namespace caf_stream::flume::detail;

struct output {
  std::vector<std::optional<event_batch>> replies;
  bool failed = false;
  bool awaiting = false;

  bool operator==(const output& other) const {
    if (replies.size() != other.replies.size() || failed != other.failed
        || awaiting != other.awaiting)
      return false;
    for (size_t i = 0; i < replies.size(); ++i) {
      const auto& x = replies[i];
      const auto& y = other.replies[i];
      if (x.has_value() != y.has_value())
        return false;
      if (x
          && (x->error_msg != y->error_msg
              || x->sequence_number != y->sequence_number
              || x->events != y->events))
        return false;
    }
    return true;
  }
};

// Feeds `bytes` in reads whose sizes `seed` picks (0: all at once) to a
// requestor that made the calls `calls` picks.
output run(const std::string& bytes, size_t max_reply, uint32_t seed,
           uint8_t calls) {
  output result;
  spark_sink_requestor req{max_reply};
  std::string out;
  for (int i = 0; i < 6; ++i) {
    if ((calls >> i) & 1)
      req.get_event_batch(out, 10);
    else
      req.ack(out, "seq-" + std::to_string(i));
  }
  auto feed = [&](const char* piece, size_t n) {
    req.feed(piece, n, result.replies);
  };
  if (!fuzz::feed_in_pieces<protocol_error>(bytes, seed, feed)) {
    result.failed = true;
    return result;
  }
  result.awaiting = req.awaiting_reply();
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3)
    return 0;
  auto max_reply = size_t{64} << (data[0] % 9);
  auto seed = uint32_t{data[1]} + 1;
  auto calls = data[2];
  std::string bytes{reinterpret_cast<const char*>(data) + 3, size - 3};
  auto whole = run(bytes, max_reply, 0, calls);
  if (!(whole == run(bytes, max_reply, seed, calls)))
    std::abort();
  // The events are made of the bytes sent: never more of them.
  size_t event_bytes = 0;
  for (const auto& reply : whole.replies)
    if (reply)
      for (const auto& e : reply->events)
        event_bytes += e.body.size();
  if (event_bytes > bytes.size())
    std::abort();
  return 0;
}
