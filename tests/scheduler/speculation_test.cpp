#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "caf_stream/scheduler/speculation.hpp"

using namespace caf_stream;
using std::chrono::milliseconds;

namespace {

using ids = std::vector<uint64_t>;

// Instants `ms` milliseconds after an arbitrary start.
speculation::clock::time_point at(int ms) {
  return speculation::clock::time_point{} + milliseconds(100000 + ms);
}

} // namespace

TEST_CASE("a send is late once half the sends were answered and it took "
          "1.5 times their median, and at least the least wait",
          "[scheduler][tasks]") {
  speculation x{1.5, milliseconds(500)};
  // Two nodes get their tasks at 0; node 1 answers after 800 ms.
  x.sent(1, at(0));
  x.sent(2, at(0));
  CHECK(x.late(at(5000)).empty());
  CHECK(x.until_late(at(0)) == std::nullopt);
  x.answered(1, at(800));
  // 1.5 x 800 ms: late after 1200 ms.
  CHECK(x.until_late(at(800)) == milliseconds(400));
  CHECK(x.late(at(1200)).empty());
  CHECK(x.late(at(1201)) == ids{2});
  CHECK(x.until_late(at(1300)) == milliseconds(0));
  // Given up, it is waited for no more.
  x.dropped(2);
  CHECK(x.late(at(2000)).empty());
  CHECK(x.until_late(at(2000)) == std::nullopt);
}

TEST_CASE("fast answers leave a late send the least wait, and too few "
          "answers none",
          "[scheduler][tasks]") {
  speculation x{1.5, milliseconds(500)};
  for (uint64_t id = 1; id <= 4; ++id)
    x.sent(id, at(0));
  // One answer of four: no send is late yet, however long they take.
  x.answered(1, at(10));
  CHECK(x.late(at(60000)).empty());
  // Two of four, in 10 and 30 ms (median 30): the least wait, 500 ms.
  x.answered(2, at(30));
  CHECK(x.until_late(at(30)) == milliseconds(470));
  CHECK(x.late(at(500)).empty());
  CHECK(x.late(at(501)) == ids{3, 4});
  // A send that went out later is late later.
  x.dropped(3);
  x.dropped(4);
  x.sent(5, at(600));
  CHECK(x.late(at(1000)).empty());
  CHECK(x.late(at(1101)) == ids{5});
  // An answer to a send that is not waited for changes nothing.
  x.answered(9, at(1200));
  CHECK(x.late(at(1101)) == ids{5});
}

TEST_CASE("a send of more rounds of tasks is late only after as many times "
          "the median round",
          "[scheduler][tasks]") {
  speculation x{1.5, milliseconds(500)};
  // Node 1 keeps the blocks of 70 tasks, node 2 those of 117, each on one
  // task slot; node 1 answers after 700 ms, 10 ms a task.
  x.sent(1, at(0), 70);
  x.sent(2, at(0), 117);
  x.answered(1, at(700));
  // Node 2 is late after 1.5 x 10 ms x 117 = 1755 ms, not after 1.5 x 700.
  CHECK(x.until_late(at(700)) == milliseconds(1055));
  CHECK(x.late(at(1051)).empty());
  CHECK(x.late(at(1755)).empty());
  CHECK(x.late(at(1756)) == ids{2});
  // Two rounds would take 30 ms: the least wait holds.
  x.dropped(2);
  x.sent(3, at(2000), 2);
  CHECK(x.late(at(2500)).empty());
  CHECK(x.late(at(2501)) == ids{3});
}
