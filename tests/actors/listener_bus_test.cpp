#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/listener_bus.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/event_log.hpp"

using namespace caf_stream;

using test::make_event;

TEST_CASE("the listener bus delivers in order, drops past its capacity and "
          "drains on request",
          "[actors][listener]") {
  using kind = listener_event::kind;
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto state = std::make_shared<actors::runtime_state>();
  auto log = std::make_shared<test::event_log>("submitted");
  state->add_listener(log);
  auto bus = actors::spawn_listener_bus(sys, state, 3);
  caf::scoped_actor self{sys};
  // The listener takes the first event and blocks in it; the bus keeps the
  // next three and drops the two after them.
  self->send(bus, make_event(kind::batch_submitted, 1000));
  REQUIRE(log->wait_for(1) == std::vector<std::string>{"submitted 1000"});
  self->send(bus, make_event(kind::batch_started, 1000));
  self->send(bus, make_event(kind::batch_completed, 1000));
  self->send(bus, make_event(kind::batch_submitted, 2000));
  self->send(bus, make_event(kind::batch_started, 2000));
  self->send(bus, make_event(kind::batch_completed, 2000));
  log->release();
  self->request(bus, std::chrono::minutes(1), actors::drain_atom::value)
    .receive([](uint64_t dropped) { CHECK(dropped == 2); },
             [&](caf::error& e) { FAIL(sys.render(e)); });
  CHECK(log->events()
        == std::vector<std::string>{"submitted 1000", "started 1000",
                                    "completed 1000", "submitted 2000"});
  self->send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_CASE("a listener that blocks for 3 batch intervals delays neither "
          "batch generation nor processing",
          "[actors][listener]") {
  auto clk = std::make_shared<testing::manual_clock>();
  streaming_context ssc{std::chrono::seconds(1),
                        testing::default_test_options(), clk};
  auto log = std::make_shared<test::event_log>("completed");
  ssc.add_streaming_listener(log);
  auto q = std::make_shared<rdd_queue<int>>();
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<int64_t> processed;
  ssc.queue_stream(q).foreach_rdd([&](const rdd<int>&, caf_stream::time t) {
    std::lock_guard<std::mutex> guard{mtx};
    processed.push_back(t.milliseconds());
    cv.notify_all();
  });
  auto wait_processed = [&](size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, std::chrono::minutes(1),
                [&] { return processed.size() >= n; });
    return processed;
  };
  ssc.start();
  clk->advance(std::chrono::seconds(1));
  // The listener now blocks in batch 1000's completion.
  REQUIRE(log->wait_for(3).back() == "completed 1000");
  for (int i = 2; i <= 4; ++i) {
    clk->advance(std::chrono::seconds(1));
    REQUIRE(wait_processed(static_cast<size_t>(i)).size()
            == static_cast<size_t>(i));
  }
  CHECK(wait_processed(4) == std::vector<int64_t>{1000, 2000, 3000, 4000});
  CHECK(log->events().size() == 3);
  log->release();
  ssc.stop();
  // Once released it hears of every batch: each batch's events in order,
  // batches completed in order.
  auto events = log->events();
  REQUIRE(events.size() == 12);
  std::map<std::string, std::vector<std::string>> by_batch;
  std::vector<std::string> completed;
  for (auto& e : events) {
    auto space = e.find(' ');
    by_batch[e.substr(space + 1)].push_back(e.substr(0, space));
    if (e.rfind("completed", 0) == 0)
      completed.push_back(e);
  }
  for (auto& [batch, kinds] : by_batch)
    CHECK(kinds == std::vector<std::string>{"submitted", "started",
                                            "completed"});
  CHECK(completed
        == std::vector<std::string>{"completed 1000", "completed 2000",
                                    "completed 3000", "completed 4000"});
}
