#pragma once

#include <cstddef>
#include <vector>

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/state_call.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// What the driver keeps of one state partition whose holder sits on a state
/// node, so that a new holder can take the partition over when that node is
/// lost: the calls that made the partition's state since it was last saved,
/// a `load` of the saved state followed by the updates since. While the
/// partition has no holder, the calls of the failing batches join the log
/// too, up to a limit of records past which the log is dropped and the
/// partition's state is lost.
class state_partition_log {
public:
  /// One call, as a new holder gets it again.
  struct entry {
    state_call call;
    time batch;
    block input;
  };

  /// A log that keeps at most `limit` records while the holder is gone.
  explicit state_partition_log(size_t limit) : limit_(limit) {
    // nop
  }

  /// Takes note of a call to the partition: `answered` whether its holder
  /// answered (with `output`), `holder_gone` whether the partition has no
  /// holder now. An answered `save` starts the log afresh with a `load` of
  /// its output; a `load` or `update` joins the log once per batch (other
  /// jobs of a batch may ask again) when answered, or while the holder is
  /// gone, since the next holder must get it. Returns false if the log
  /// passed its limit while the holder is gone: the log is dropped and the
  /// partition's state is lost (`lost()`); a lost log takes no more calls.
  bool record(state_call what, time t, const block& input,
              const block& output, bool answered, bool holder_gone);

  /// The calls a new holder gets again, oldest first.
  const std::vector<entry>& entries() const noexcept {
    return entries_;
  }

  /// The records in `entries()`.
  size_t records() const noexcept {
    return records_;
  }

  size_t limit() const noexcept {
    return limit_;
  }

  /// Whether the log was dropped past its limit: the state is lost.
  bool lost() const noexcept {
    return lost_;
  }

private:
  void add(state_call what, time t, const block& x);

  size_t limit_;
  std::vector<entry> entries_;
  size_t records_ = 0;
  bool lost_ = false;
};

} // namespace caf_stream
