#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/log_capture.hpp"

using namespace caf_stream;

namespace {

// A receiver that reports one bad record when it starts, and one more
// when it is restarted (a second start), then waits to be stopped.
class reporting_receiver final : public receiver<std::string> {
public:
  void on_start() override {
    if (++starts_ == 1)
      restart("lost the connection");
    else
      report_error("bad record 7 skipped");
  }

  void on_stop() override {
    // nop
  }

private:
  int starts_ = 0;
};

// Records the receiver events it gets, in order.
class receiver_events final : public streaming_listener {
public:
  void on_receiver_started(const receiver_info& x) override {
    add("started", x);
  }

  void on_receiver_error(const receiver_info& x) override {
    add("error", x);
  }

  void on_receiver_stopped(const receiver_info& x) override {
    add("stopped", x);
  }

  // Waits (bounded) until `n` events arrived; returns them.
  std::vector<std::pair<std::string, receiver_info>> wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, std::chrono::seconds(120),
                 [&] { return events_.size() >= n; });
    return events_;
  }

private:
  void add(const char* what, const receiver_info& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.emplace_back(what, x);
    cv_.notify_all();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, receiver_info>> events_;
};

// A started context under a manual clock with one `reporting_receiver`,
// whose events `events` records.
struct reporting_context {
  reporting_context() {
    ssc.add_streaming_listener(events);
    ssc.receiver_stream<std::string>(std::make_unique<reporting_receiver>())
      .foreach_rdd([](const rdd<std::string>&) {});
    ssc.start();
  }

  std::shared_ptr<testing::manual_clock> clk
    = std::make_shared<testing::manual_clock>();
  streaming_context ssc{std::chrono::seconds(1),
                        testing::default_test_options(), clk};
  std::shared_ptr<receiver_events> events
    = std::make_shared<receiver_events>();
};

} // namespace

TEST_CASE("a receiver supervisor tells the listeners what happens to its "
          "receiver",
          "[actors][receiver]") {
  reporting_context x;
  auto& [clk, ssc, events] = x;
  // started, then the restart's error; the restart waits for the delay.
  auto xs = events->wait_for(2);
  REQUIRE(xs.size() == 2);
  clk->advance(std::chrono::seconds(2));
  xs = events->wait_for(4);
  ssc.stop();
  xs = events->wait_for(5);
  std::vector<std::string> kinds;
  for (auto& [kind, info] : xs)
    kinds.push_back(kind);
  CHECK(kinds
        == std::vector<std::string>{"started", "error", "started", "error",
                                    "stopped"});
  CHECK(xs[0].second.name == "receiver_stream");
  CHECK(xs[0].second.active);
  CHECK_FALSE(xs[1].second.active);
  CHECK(xs[1].second.last_error == "lost the connection");
  CHECK(xs[1].second.last_error_time == caf_stream::time{0});
  CHECK(xs[3].second.active);
  CHECK(xs[3].second.last_error == "bad record 7 skipped");
  CHECK(xs[3].second.last_error_time == caf_stream::time{2000});
  CHECK_FALSE(xs[4].second.active);
}

TEST_CASE("a receiver that stops while its restart is due: its supervisor "
          "says the restart is called off",
          "[actors][receiver]") {
  support::log_capture log{"receiver"};
  reporting_context x;
  auto& [clk, ssc, events] = x;
  // started, then the restart's error; the restart waits for the delay.
  REQUIRE(events->wait_for(2).size() == 2);
  CHECK(log.contains("restarting receiver 0 in 2000 ms: lost the connection"));
  ssc.stop();
  CHECK(log.wait_for("receiver 0: its restart is called off, as it stops"));
}
