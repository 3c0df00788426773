#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "caf_stream/scheduler/state_partition_log.hpp"

using namespace caf_stream;

namespace {

// A block of `n` records, told apart by its stream id.
block records(int32_t tag, int64_t n) {
  block result;
  result.stream_id = tag;
  result.records = n;
  return result;
}

// The log as (call, batch ms, tag) triples.
std::vector<std::tuple<state_call, int64_t, int32_t>>
calls(const state_partition_log& log) {
  std::vector<std::tuple<state_call, int64_t, int32_t>> result;
  for (auto& x : log.entries())
    result.emplace_back(x.call, x.batch.milliseconds(), x.input.stream_id);
  return result;
}

using ms = caf_stream::time;

} // namespace

TEST_CASE("the state log keeps the calls since the last save, each batch "
          "once",
          "[scheduler][state]") {
  using c = state_call;
  state_partition_log log{100};
  // The initial state, then two updates; the second job of batch 2000 asks
  // again and is not logged twice.
  CHECK(log.record(c::load, ms{0}, records(1, 3), {}, true, false));
  CHECK(log.record(c::update, ms{1000}, records(2, 5), records(9, 1), true,
                   false));
  CHECK(log.record(c::update, ms{2000}, records(3, 4), {}, true, false));
  CHECK(log.record(c::update, ms{2000}, records(3, 4), {}, true, false));
  CHECK(calls(log)
        == decltype(calls(log)){{c::load, 0, 1},
                                {c::update, 1000, 2},
                                {c::update, 2000, 3}});
  CHECK(log.records() == 12);
  // Snapshots change nothing; a failed save keeps the log.
  CHECK(log.record(c::snapshot, ms{2000}, {}, records(7, 9), true, false));
  CHECK(log.record(c::save, ms{2000}, {}, {}, false, false));
  CHECK(log.entries().size() == 3);
  // A save starts the log afresh with a load of what it returned.
  CHECK(log.record(c::save, ms{2000}, {}, records(4, 6), true, false));
  CHECK(calls(log) == decltype(calls(log)){{c::load, 2000, 4}});
  CHECK(log.records() == 6);
  // A call the holder refused (a user function threw) is not logged while
  // the holder is there: it left no trace in the state.
  CHECK(log.record(c::update, ms{3000}, records(5, 2), {}, false, false));
  CHECK(log.entries().size() == 1);
}

TEST_CASE("while its holder is gone the log takes the failing batches up to "
          "its limit, then the state is lost",
          "[scheduler][state]") {
  state_partition_log log{10};
  CHECK(log.record(state_call::load, ms{0}, records(1, 4), {}, true, false));
  // The node is lost: the batches' calls fail, and the next holder needs
  // them.
  CHECK(log.record(state_call::update, ms{1000}, records(2, 3), {}, false,
                   true));
  CHECK(log.record(state_call::update, ms{2000}, records(3, 3), {}, false,
                   true));
  CHECK(log.records() == 10);
  CHECK_FALSE(log.lost());
  // The next one passes the limit: dropped, the state is lost for good.
  CHECK_FALSE(log.record(state_call::update, ms{3000}, records(4, 1), {},
                         false, true));
  CHECK(log.lost());
  CHECK(log.entries().empty());
  CHECK(log.records() == 0);
  CHECK_FALSE(log.record(state_call::save, ms{3000}, {}, records(5, 1), true,
                         false));
  CHECK(log.entries().empty());
}
