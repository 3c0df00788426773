// libFuzzer target: a Flume Avro source's connection (detail::flume_connection:
// Netty framing, the handshake, AvroSourceProtocol's calls). However the
// bytes are split into reads, the connection must serve the same calls,
// answer the same bytes and stop at the same error; no length a client sends
// may make it read or allocate past what the limit allows. The same bytes
// deflated (zlib's own calls) to a connection with decompression must serve
// the same calls and answer the same bytes, deflated.
//
// Input: byte 0 sets the request size limit (64 bytes to 16 KiB), byte 1
// seeds the sizes of the reads; the rest is what the client sends.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "caf_stream/flume/avro_rpc.hpp"
#include "caf_stream/flume/compression.hpp"

#include "input.hpp"

#include "support/zlib_stream.hpp"

namespace {

using namespace caf_stream::flume::detail;

struct output {
  std::vector<request::kind> calls;
  std::vector<caf_stream::flume::event> events;
  std::string replies;
  bool failed = false;
  bool in_request = false;
  size_t pending = 0;

  bool operator==(const output& other) const {
    return calls == other.calls && events == other.events
           && replies == other.replies && failed == other.failed
           && in_request == other.in_request && pending == other.pending;
  }
};

// Feeds `bytes` in reads whose sizes `seed` picks (0: all at once) to a
// connection that decompresses if `compressed`.
output run(const std::string& bytes, size_t max_request, uint32_t seed,
           bool compressed = false) {
  output result;
  flume_connection conn{max_request, compressed};
  auto serve = [&](request&& req) {
    result.calls.push_back(req.what);
    for (auto& e : req.events)
      result.events.push_back(std::move(e));
    // Every third call fails, so that both answers are encoded.
    return result.calls.size() % 3 == 0 ? status::failed
                                        : status::ok;
  };
  auto feed = [&](const char* piece, size_t n) {
    conn.feed(piece, n, serve, result.replies);
  };
  if (!fuzz::feed_in_pieces<protocol_error>(bytes, seed, feed)) {
    result.failed = true;
    return result;
  }
  result.in_request = conn.in_request();
  result.pending = conn.pending_bytes();
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  auto max_request = size_t{64} << (data[0] % 9);
  auto seed = uint32_t{data[1]} + 1;
  std::string bytes{reinterpret_cast<const char*>(data) + 2, size - 2};
  auto whole = run(bytes, max_request, 0);
  if (!(whole == run(bytes, max_request, seed)))
    std::abort();
  // A connection without decompression refuses these at once.
  if (!starts_like_zlib(bytes)) {
    auto deflated = support::deflate_flushed({bytes}).front();
    auto inflated = run(deflated, max_request, seed, true);
    inflated.replies = support::zlib_reader{}.read(inflated.replies);
    if (!(whole == inflated))
      std::abort();
  }
  // The events are made of the bytes sent: never more of them.
  size_t event_bytes = 0;
  for (const auto& e : whole.events)
    event_bytes += e.body.size();
  if (event_bytes > bytes.size())
    std::abort();
  return 0;
}
