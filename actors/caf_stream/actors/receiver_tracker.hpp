#pragma once

#include <map>
#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::actors {

/// What a receiver tracker starts with: the receiver write-ahead log, and
/// what recovery read back from it.
struct tracked_blocks {
  /// Where allocations are logged (null: the log is off).
  std::shared_ptr<detail::received_block_log> log;
  /// Batches that run again, with the blocks they had before the crash.
  std::map<time, std::vector<block>> batches;
  /// Blocks that no batch got before the crash.
  std::vector<block> unallocated;
};

/// Receiver tracker (Spark's ReceivedBlockTracker): keeps unallocated blocks.
/// - `(register_atom, actor)`: adds a block generator, until it goes down
///   (its worker node was lost);
/// - `(blocks_atom, block_list)`: adds sealed blocks;
/// - `(allocate_atom, time)` -> `block_list`: seals every block generator
///   and returns (allocates to the batch) every unallocated block, after
///   logging the allocation; a batch that runs again after a recovery gets
///   the blocks it had before. Fails (errc::source_failure) if the log
///   cannot be written: the blocks stay for the next batch. A generator on
///   another node that has not answered by `clk`'s batch time +
///   `seal_bound` (a frozen node) holds up the batch no longer: its blocks
///   go to the batch after its answer (none without `clk`);
/// - `(seal_late_atom, uint64_t seal)`: seal `seal`'s bound passed.
caf::actor spawn_receiver_tracker(caf::actor_system& sys,
                                  tracked_blocks init = {},
                                  std::shared_ptr<clock> clk = nullptr,
                                  duration seal_bound = duration{0});

} // namespace caf_stream::actors
