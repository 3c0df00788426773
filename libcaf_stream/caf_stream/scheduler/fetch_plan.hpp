#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace caf_stream {

/// Fetches the buckets that map stages left on other nodes, in chunks of
/// at most `chunk` bytes with at most `in_flight` bytes asked for and not
/// received yet (at least one chunk is always under way): CAF 0.17's BASP
/// has no flow control, so an unbounded fetch of large buckets could
/// exhaust memory (Spark bounds its shuffle fetches the same way,
/// `spark.reducer.maxSizeInFlight`). A source is one node's answer to one
/// map stage, named by the caller; its buckets' sizes are known up front.
/// A fetch runs on from one bucket into the source's next ones, so that
/// one chunk carries many small buckets (Spark fetches a node's blocks in
/// requests of several blocks too): a node's share of many reduce
/// partitions costs a message per chunk, not one per bucket.
class fetch_plan {
public:
  /// A fetch to send: `size` bytes of `source` from `offset` in bucket
  /// `bucket` on, through the next buckets where that one ends (`parts`).
  struct request {
    uint64_t source = 0;
    uint32_t bucket = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  /// A request's bytes in one bucket: `size` bytes from `offset` on.
  struct part {
    uint32_t bucket = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  fetch_plan(uint64_t chunk, uint64_t in_flight)
    : chunk_(chunk), in_flight_limit_(in_flight) {
    // nop
  }

  /// Starts fetching the buckets of `source`, of `sizes` bytes each.
  void add(uint64_t source, const std::vector<uint64_t>& sizes);

  /// The fetches to send now, within the bounds; marks them as sent.
  std::vector<request> next();

  /// The parts of request `r`, bucket by bucket, without empty ones; none
  /// if `r` names no fetch under way.
  std::vector<part> parts(const request& r) const;

  /// The bytes of fetch `r` arrived; returns whether `source` has all its
  /// buckets now. Throws `stream_error` if `bytes` is not what `r` asked
  /// for, or `r` names no fetch under way.
  bool received(const request& r, const std::string& bytes);

  /// Whether `source` has all its buckets.
  bool complete(uint64_t source) const;

  /// The buckets of a complete source, which the plan forgets.
  std::vector<std::string> take(uint64_t source);

  /// Forgets `source` (its node failed): its fetches under way no longer
  /// count, and what arrives for them is ignored.
  void drop(uint64_t source);

  /// Bytes asked for and not received yet.
  uint64_t in_flight() const noexcept {
    return in_flight_;
  }

private:
  struct source_state {
    std::vector<uint64_t> sizes;
    std::vector<std::string> buckets;
    // The next bytes to ask for.
    uint32_t bucket = 0;
    uint64_t offset = 0;
    // Bytes asked for and not received yet, and not asked for yet.
    uint64_t in_flight = 0;
    uint64_t missing = 0;
  };

  uint64_t chunk_;
  uint64_t in_flight_limit_;
  uint64_t in_flight_ = 0;
  std::map<uint64_t, source_state> sources_;
};

} // namespace caf_stream
