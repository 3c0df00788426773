#include <catch2/catch.hpp>

#include <vector>

#include "caf_stream/scheduler/listener_event_queue.hpp"

#include "support/event_log.hpp"

using namespace caf_stream;

namespace {

listener_event submitted(int64_t ms) {
  return test::make_event(listener_event::kind::batch_submitted, ms);
}

} // namespace

TEST_CASE("the listener event queue keeps events in order up to its capacity "
          "and drops the rest",
          "[scheduler][listener]") {
  listener_event_queue q{2};
  CHECK(q.push(submitted(1000)));
  CHECK(q.push(submitted(2000)));
  CHECK_FALSE(q.push(submitted(3000)));
  CHECK_FALSE(q.push(submitted(4000)));
  CHECK(q.dropped() == 2);
  CHECK(q.size() == 2);
  CHECK(q.pop()->info.batch_time == caf_stream::time{1000});
  // Room again: new events are kept.
  CHECK(q.push(submitted(5000)));
  CHECK(q.pop()->info.batch_time == caf_stream::time{2000});
  CHECK(q.pop()->info.batch_time == caf_stream::time{5000});
  CHECK_FALSE(q.pop());
  CHECK(q.empty());
  CHECK(q.dropped() == 2);
}
