#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "caf_stream/duration.hpp"

namespace caf_stream::actors {

/// What `start` says about `stream.block-interval`: `text` (empty: nothing
/// to say), and whether it is a warning (some batches get no block at all)
/// rather than advice.
struct block_advice {
  std::string text;
  bool warning = false;
};

/// Advice on `stream.block-interval` (`block`) for a graph whose
/// `receivers` receiver streams feed batches of `batch` on `slots` task
/// slots (`stream.workers`): each block of a batch is one partition and one
/// map task, so a batch with fewer blocks than slots leaves slots idle, and
/// one whose receivers seal blocks less often than batches come gets none
/// at times (Spark's tuning guide: the batch interval divided by the block
/// interval, times the receivers, gives the tasks per batch). Says why,
/// with the block interval that gives each slot a block of every batch, or
/// nothing if the batches get enough blocks.
inline block_advice block_interval_advice(duration batch, duration block,
                                          size_t receivers, size_t slots) {
  if (receivers == 0 || slots == 0 || block.count() <= 0)
    return {};
  auto enough = duration{std::max<int64_t>(
    1, batch.count() * static_cast<int64_t>(receivers)
         / static_cast<int64_t>(slots))};
  auto advice = "; a stream.block-interval of " + to_string(enough)
                + " or less gives each of the " + std::to_string(slots)
                + " task slots (stream.workers) a block of every batch";
  if (block > batch)
    return {"stream.block-interval (" + to_string(block)
              + ") is longer than the batch interval (" + to_string(batch)
              + "): some batches get no block from a receiver, and the next "
                "ones the records of several batch intervals"
              + advice,
            true};
  auto blocks = static_cast<size_t>(batch / block) * receivers;
  if (blocks >= slots)
    return {};
  auto from = receivers == 1 ? std::string{"1 receiver"}
                             : std::to_string(receivers) + " receivers";
  return {"a batch of " + to_string(batch) + " gets about "
            + std::to_string(blocks) + " blocks (partitions, one task each) "
            + "from " + from + " at a stream.block-interval of "
            + to_string(block) + advice,
          false};
}

} // namespace caf_stream::actors
