#include <catch2/catch.hpp>

#include <chrono>

#include "caf_stream/scheduler/stage_placement.hpp"

using namespace caf_stream;
using std::chrono::microseconds;

TEST_CASE("stage_placement runs in place the stages that were shorter than "
          "a worker's wake-up in the last batch",
          "[scheduler][stage_placement]") {
  stage_placement p{microseconds(30)};
  // Batch 1: nothing seen yet, every stage is spread.
  p.new_batch();
  CHECK(p.next_stage() == 0);
  CHECK_FALSE(p.in_place(0));
  p.took(0, microseconds(4));
  CHECK(p.next_stage() == 1);
  CHECK_FALSE(p.in_place(1));
  p.took(1, microseconds(900));
  // Batch 2: stage 0 was short, stage 1 long.
  p.new_batch();
  CHECK(p.next_stage() == 0);
  CHECK(p.in_place(0));
  CHECK_FALSE(p.over_bound(microseconds(29)));
  CHECK(p.over_bound(microseconds(30)));
  // Its data grew: it passed the bound, and is spread next time.
  p.took(0, microseconds(45));
  CHECK(p.next_stage() == 1);
  CHECK_FALSE(p.in_place(1));
  p.took(1, microseconds(12));
  // A third stage appears (a window's slide).
  CHECK(p.next_stage() == 2);
  CHECK_FALSE(p.in_place(2));
  p.took(2, microseconds(1));
  // Batch 3.
  p.new_batch();
  CHECK(p.next_stage() == 0);
  CHECK_FALSE(p.in_place(0));
  CHECK(p.in_place(1));
  CHECK(p.in_place(2));
  CHECK_FALSE(p.in_place(3));
}
