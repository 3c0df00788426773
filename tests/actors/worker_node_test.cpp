#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/sec.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/testing.hpp"

#include "support/actor_context.hpp"
#include "support/log_capture.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The worker node through its mailbox: this test plays its drivers.

namespace {

// What the test's receiver went through. Its `on_stop` waits until the test
// opens the gate, as a receiver whose thread is stuck in `store` does.
struct probe {
  std::mutex mtx;
  std::condition_variable cv;
  int starts = 0;
  int stops = 0;
  bool open = false;

  // Waits until `done()` holds (60 s at most, a bound for a stuck test).
  template <class Done>
  bool wait(Done done) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, std::chrono::seconds(60), done);
  }

  void let_stops_end() {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
    cv.notify_all();
  }
};

class gated_receiver final : public receiver<int64_t> {
public:
  explicit gated_receiver(std::shared_ptr<probe> p) : p_(std::move(p)) {
    // nop
  }

  void on_start() override {
    std::lock_guard<std::mutex> guard{p_->mtx};
    ++p_->starts;
    p_->cv.notify_all();
  }

  void on_stop() override {
    std::unique_lock<std::mutex> guard{p_->mtx};
    ++p_->stops;
    p_->cv.notify_all();
    p_->cv.wait(guard, [&] { return p_->open; });
  }

private:
  std::shared_ptr<probe> p_;
};

// A worker node serving a graph with the gated receiver, and what the test
// needs to start it as a driver would.
struct fixture : support::actor_context {
  std::shared_ptr<probe> p = std::make_shared<probe>();
  stream_options opts;
  caf::actor node;

  fixture() {
    ssc.receiver_stream<int64_t>(std::make_unique<gated_receiver>(p))
      .foreach_rdd([](const rdd<int64_t>&) {});
    node = spawn_state_node(sys, ssc.graph(), program_id(opts), clk, opts);
  }

  ~fixture() {
    p->let_stops_end();
    self->send_exit(node, caf::exit_reason::user_shutdown);
  }

  // A driver's receiver tracker, which the test can take down.
  caf::actor tracker() {
    return sys.spawn([]() -> caf::behavior { return {[](int32_t) {}}; });
  }

  // Asks the node to start receiver 0 for the driver of `tracker`: its
  // supervisor, or why not.
  std::pair<caf::actor, std::string> start(const caf::actor& tracker) {
    std::pair<caf::actor, std::string> result;
    self
      ->request(node, caf::infinite, start_receiver_atom::value,
                ssc.graph()->fingerprint(), program_id(opts), int32_t{0},
                tracker, caf::actor{}, size_t{1}, int64_t{0}, false,
                std::string{"127.0.0.1:1"}, std::vector<std::string>{},
                std::vector<caf::actor>{})
      .receive([&](caf::actor& x) { result.first = std::move(x); },
               [&](caf::error& e) { result.second = message_of(e); });
    return result;
  }
};

} // namespace

TEST_CASE("a worker node starts a receiver again only once its last run "
          "stopped",
          "[actors][nodes][receiver]") {
  fixture f;
  auto first = f.tracker();
  auto [supervisor, none] = f.start(first);
  REQUIRE(supervisor);
  REQUIRE(f.p->wait([&] { return f.p->starts == 1; }));
  // The first driver goes: the node stops the receiver, whose `on_stop`
  // has not returned yet.
  f.self->monitor(supervisor);
  f.self->send_exit(first, caf::exit_reason::user_shutdown);
  REQUIRE(f.p->wait([&] { return f.p->stops == 1; }));
  auto second = f.tracker();
  auto [refused, why] = f.start(second);
  CHECK_FALSE(refused);
  CHECK(why == "receiver 0 is still stopping on this node");
  CHECK(f.p->starts == 1);
  // Once it stopped, the node starts it for the second driver. The node
  // hears of the stop a moment after this test may (CAF sends the
  // supervisor's down messages one after the other): it refuses until then.
  f.p->let_stops_end();
  f.self->receive([](const caf::down_msg&) {});
  auto again = f.start(second);
  for (int i = 0; i < 1000 && !again.first; ++i) {
    CHECK(again.second == "receiver 0 is still stopping on this node");
    again = f.start(second);
  }
  CHECK(again.first);
  CHECK(f.p->wait([&] { return f.p->starts == 2; }));
  f.self->send_exit(second, caf::exit_reason::user_shutdown);
}

TEST_CASE("a worker node answers a graceful stop once the actors it "
          "started are down",
          "[actors][nodes][state]") {
  support::actor_context c;
  stream_options opts;
  using kv = std::pair<std::string, int64_t>;
  c.ssc.queue_stream(std::make_shared<rdd_queue<kv>>())
    .update_state_by_key(
      [](const std::vector<int64_t>& xs, std::optional<int64_t> st) {
        auto n = st.value_or(0);
        for (auto x : xs)
          n += x;
        return std::optional<int64_t>{n};
      })
    .foreach_rdd([](const rdd<kv>&) {});
  auto graph = c.ssc.graph();
  auto node = spawn_state_node(c.sys, graph, program_id(opts), c.clk, opts);
  // The test plays the driver that asks for a holder of the state stream.
  caf::actor holder;
  c.self
    ->request(node, caf::infinite, spawn_holder_atom::value,
              graph->fingerprint(), program_id(opts), int32_t{0},
              graph->state_operators().at(0)->signature())
    .receive([&](caf::actor& x) { holder = std::move(x); },
             [](caf::error& e) { FAIL(to_string(e)); });
  REQUIRE(holder);
  auto down = false;
  c.self->request(node, caf::infinite, stop_atom::value)
    .receive([&](bool x) { down = x; },
             [](caf::error& e) { FAIL(to_string(e)); });
  CHECK(down);
  // Its mailbox is closed: a message to it comes back at once.
  caf::error bounced;
  c.self->request(holder, caf::infinite, stop_atom::value)
    .receive([] {}, [&](caf::error& e) { bounced = std::move(e); });
  CHECK(bounced == caf::sec::request_receiver_down);
  c.self->send_exit(node, caf::exit_reason::user_shutdown);
}

TEST_CASE("a worker node's context on the program's own actor system lets "
          "its graph go although an output holds a handle of its own stream",
          "[actors][nodes][context]") {
  stream_config cfg;
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  std::weak_ptr<detail::dstream_graph> graph;
  {
    streaming_context ssc{sys, std::chrono::seconds(1),
                          std::make_shared<testing::manual_clock>()};
    auto s = ssc.queue_stream(std::make_shared<rdd_queue<int>>());
    s.foreach_rdd([s](const rdd<int>&, caf_stream::time t) {
      s.slice(t - std::chrono::seconds(1), t);
    });
    graph = s.graph();
    CHECK(ssc.serve(0) > 0);
  }
  CHECK(graph.expired());
}

TEST_CASE("a worker node whose task host went down fails the stages it "
          "handed that host, and starts another for the next stage",
          "[actors][nodes][tasks]") {
  support::log_capture log{"node"};
  support::actor_context c;
  stream_options opts;
  test::word_graph::build(c.ssc, std::make_shared<rdd_queue<std::string>>())
    .foreach_rdd([](const rdd<test::word_graph::count>&) {});
  auto graph = c.ssc.graph();
  auto node = spawn_state_node(c.sys, graph, program_id(opts), c.clk, opts);
  // The test plays the driver: stage `id` counts the words of `lines` in
  // one task (stream 2 pairs each word with 1).
  auto send_count = [&](uint64_t id, const std::vector<std::string>& lines) {
    map_stage stage;
    stage.fingerprint = graph->fingerprint();
    stage.program = program_id(opts);
    stage.stream = 2;
    stage.tasks = {0};
    stage.batch.batch_time = caf_stream::time{static_cast<int64_t>(id) * 1000};
    auto& in = stage.batch.inputs[0];
    in.records = static_cast<int64_t>(lines.size());
    in.partitions.push_back(detail::to_bytes(lines));
    c.self->send(node, count_tasks_atom::value, id, std::move(stage));
  };
  // The task host that answered stage `id`, and its count.
  auto counted = [&](uint64_t id) {
    std::pair<caf::actor, int64_t> result{caf::actor{}, -1};
    c.self->receive(
      [&](map_done_atom, uint64_t got, std::vector<std::string>& outputs) {
        CHECK(got == id);
        REQUIRE(outputs.size() == 1);
        result = {caf::actor_cast<caf::actor>(c.self->current_sender()),
                  detail::count_of_bytes(outputs[0])};
      },
      [&](map_failed_atom, uint64_t, const std::string& why) {
        FAIL("stage " << id << " failed: " << why);
      },
      caf::after(std::chrono::minutes(1)) >>
        [&] { FAIL("stage " << id << " got no answer"); });
    return result;
  };
  send_count(1, {"a b", "c"});
  auto [first, three] = counted(1);
  REQUIRE(first);
  CHECK(three == 3);
  // The task host dies by itself, as on an exception its tasks did not
  // catch, as stage 2 reaches the node or the host: the node fails both
  // stages it handed the host (this driver does not know the host yet
  // when it sends through the node). Stage 2 may have been answered
  // before.
  send_count(2, {"x"});
  c.self->send_exit(first, caf::exit_reason::kill);
  std::set<uint64_t> failed;
  while (failed.size() < 2)
    c.self->receive(
      [&](map_done_atom, uint64_t id, std::vector<std::string>&) {
        CHECK(id == 2);
      },
      [&](map_failed_atom, uint64_t id, const std::string& why) {
        CHECK(why == "the task host of the worker node is down");
        failed.insert(id);
      },
      caf::after(std::chrono::minutes(1)) >> [&] {
        FAIL("the node failed only " << failed.size() << " stages");
      });
  CHECK(failed == std::set<uint64_t>{1, 2});
  CHECK(log.contains("the task host is down"));
  // The next stage gets another host.
  send_count(3, {"a b c", "", "d"});
  auto [second, four] = counted(3);
  CHECK(second);
  CHECK(second != first);
  CHECK(four == 4);
  c.self->send_exit(node, caf::exit_reason::user_shutdown);
}
