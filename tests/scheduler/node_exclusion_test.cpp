#include <catch2/catch.hpp>

#include <chrono>

#include "caf_stream/scheduler/node_exclusion.hpp"

using namespace caf_stream;
using std::chrono::seconds;

namespace {

// Instants `s` seconds after an arbitrary start.
node_exclusion::clock::time_point at(int s) {
  return node_exclusion::clock::time_point{} + seconds(1000 + s);
}

} // namespace

TEST_CASE("a node that failed gets no tasks for a while, then is tried "
          "again",
          "[scheduler][tasks]") {
  node_exclusion x{seconds(5), seconds(80)};
  CHECK_FALSE(x.excluded("a:1", at(0)));
  CHECK_FALSE(x.failed_lately("a:1"));
  CHECK(x.failed("a:1", at(0)) == seconds(5));
  CHECK(x.failed_lately("a:1"));
  CHECK(x.excluded("a:1", at(0)));
  CHECK(x.excluded("a:1", at(4)));
  CHECK_FALSE(x.excluded("a:1", at(5)));
  // The other nodes are not concerned.
  CHECK_FALSE(x.excluded("b:1", at(1)));
}

TEST_CASE("a node that fails again before it ran tasks is excluded twice "
          "as long each time, up to the longest, tasks run start over",
          "[scheduler][tasks]") {
  node_exclusion x{seconds(5), seconds(80)};
  // Failure times (each when the exclusion before ended) and the expected
  // exclusions, written out from the rule.
  struct step {
    int now;
    int excluded_for;
  };
  const step steps[] = {{0, 5},   {5, 10},  {15, 20}, {35, 40},
                        {75, 80}, {155, 80}, {235, 80}};
  for (const auto& s : steps) {
    CHECK(x.failed("a:1", at(s.now)) == seconds(s.excluded_for));
    CHECK(x.excluded("a:1", at(s.now + s.excluded_for - 1)));
    CHECK_FALSE(x.excluded("a:1", at(s.now + s.excluded_for)));
  }
  x.succeeded("a:1");
  CHECK_FALSE(x.failed_lately("a:1"));
  CHECK_FALSE(x.excluded("a:1", at(400)));
  CHECK(x.failed("a:1", at(400)) == seconds(5));
}

TEST_CASE("a node's failure while it is excluded (another stage that was "
          "sent before it failed) does not make its exclusion longer",
          "[scheduler][tasks]") {
  node_exclusion x{seconds(5), seconds(80)};
  CHECK(x.failed("a:1", at(0)) == seconds(5));
  CHECK(x.failed("a:1", at(0)) == seconds(5));
  CHECK(x.failed("a:1", at(3)) == seconds(5));
  CHECK(x.excluded("a:1", at(4)));
  CHECK_FALSE(x.excluded("a:1", at(5)));
  // Failing again once the exclusion ended doubles it, as before.
  CHECK(x.failed("a:1", at(5)) == seconds(10));
  CHECK_FALSE(x.excluded("a:1", at(15)));
}
