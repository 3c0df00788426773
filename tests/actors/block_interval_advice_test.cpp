#include <catch2/catch.hpp>

#include <string>

#include "block_interval_advice.hpp"

using namespace caf_stream;
using caf_stream::actors::block_interval_advice;

// What `start` says about stream.block-interval: a batch's blocks are its
// map tasks, batch interval / block interval per receiver (Spark's tuning
// guide).

TEST_CASE("a batch with at least a block per task slot gets no advice",
          "[actors][block_interval]") {
  // Spark's defaults: 1 s batches, 200 ms blocks: 5 blocks a batch.
  CHECK(
    block_interval_advice(duration{1000}, duration{200}, 1, 4).text.empty());
  CHECK(
    block_interval_advice(duration{1000}, duration{200}, 1, 5).text.empty());
  CHECK(block_interval_advice(duration{100}, duration{50}, 2, 4).text.empty());
  // No receiver: the blocks' pace does not matter.
  CHECK(block_interval_advice(duration{100}, duration{200}, 0, 4).text.empty());
}

TEST_CASE("a batch with fewer blocks than task slots gets the block interval "
          "that gives each slot one",
          "[actors][block_interval]") {
  CHECK(block_interval_advice(duration{1000}, duration{200}, 1, 8).text
        == "a batch of 1000 ms gets about 5 blocks (partitions, one task "
           "each) from 1 receiver at a stream.block-interval of 200 ms; a "
           "stream.block-interval of 125 ms or less gives each of the 8 task "
           "slots (stream.workers) a block of every batch");
  // Two receivers share the slots.
  CHECK(block_interval_advice(duration{100}, duration{100}, 2, 4).text
        == "a batch of 100 ms gets about 2 blocks (partitions, one task each) "
           "from 2 receivers at a stream.block-interval of 100 ms; a "
           "stream.block-interval of 50 ms or less gives each of the 4 task "
           "slots (stream.workers) a block of every batch");
}

TEST_CASE("a block interval longer than the batch interval leaves batches "
          "without blocks",
          "[actors][block_interval]") {
  CHECK(block_interval_advice(duration{100}, duration{200}, 1, 2).warning);
  CHECK(block_interval_advice(duration{100}, duration{200}, 1, 2).text
        == "stream.block-interval (200 ms) is longer than the batch interval "
           "(100 ms): some batches get no block from a receiver, and the next "
           "ones the records of several batch intervals; a "
           "stream.block-interval of 50 ms or less gives each of the 2 task "
           "slots (stream.workers) a block of every batch");
  // Never less than a millisecond.
  CHECK(block_interval_advice(duration{10}, duration{200}, 1, 64).text.find(
          "a stream.block-interval of 1 ms or less")
        != std::string::npos);
}
