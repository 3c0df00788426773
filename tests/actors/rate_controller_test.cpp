#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/rate_controller.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"

using namespace caf_stream;

TEST_CASE("the rate controller sends the PID estimates to its stream",
          "[actors][rate]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto ctl = actors::spawn_rate_controller(
    sys, 7, caf::actor_cast<caf::actor>(self),
    pid_rate_estimator{20, 1.0, 0.0, 0.0, 10}, false);
  using actors::batch_done_atom;
  // The first batch sets the baseline and sends nothing; empty batches are
  // skipped.
  self->send(ctl, batch_done_atom::value, int64_t{0}, int64_t{10}, int64_t{10},
             int64_t{0});
  self->send(ctl, batch_done_atom::value, int64_t{10}, int64_t{0}, int64_t{10},
             int64_t{0});
  self->send(ctl, batch_done_atom::value, int64_t{20}, int64_t{40}, int64_t{20},
             int64_t{0});
  double rate = 0;
  self->receive([&](actors::rate_atom, double r) { rate = r; });
  CHECK(rate == 2000.0);
  self->send_exit(ctl, caf::exit_reason::user_shutdown);
}

TEST_CASE("before the first estimate a waiting batch sets the minimum rate",
          "[actors][rate]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  using actors::batch_done_atom;
  using actors::batch_waiting_atom;
  auto next_rate = [&] {
    double rate = 0;
    self->receive([&](actors::rate_atom, double r) { rate = r; });
    return rate;
  };
  // Two batches giving the estimate 2000 records/s (as above).
  auto estimate = [&](const caf::actor& ctl) {
    self->send(ctl, batch_done_atom::value, int64_t{0}, int64_t{10},
               int64_t{10}, int64_t{0});
    self->send(ctl, batch_done_atom::value, int64_t{20}, int64_t{40},
               int64_t{20}, int64_t{0});
  };
  auto spawn = [&](bool initial_rate_set) {
    return actors::spawn_rate_controller(
      sys, 7, caf::actor_cast<caf::actor>(self),
      pid_rate_estimator{20, 1.0, 0.0, 0.0, 10}, initial_rate_set);
  };
  SECTION("without an initial rate: the minimum, once, then the estimates") {
    auto ctl = spawn(false);
    self->send(ctl, batch_waiting_atom::value);
    self->send(ctl, batch_waiting_atom::value);
    estimate(ctl);
    CHECK(next_rate() == 10.0);
    // The second waiting batch sent nothing: the next rate is the estimate.
    CHECK(next_rate() == 2000.0);
    // With an estimate in force waiting batches change nothing.
    self->send(ctl, batch_waiting_atom::value);
    self->send(ctl, batch_done_atom::value, int64_t{40}, int64_t{40},
               int64_t{20}, int64_t{0});
    CHECK(next_rate() == 2000.0);
    self->send_exit(ctl, caf::exit_reason::user_shutdown);
  }
  SECTION("with an initial rate the stream keeps it until the estimate") {
    auto ctl = spawn(true);
    self->send(ctl, batch_waiting_atom::value);
    estimate(ctl);
    CHECK(next_rate() == 2000.0);
    self->send_exit(ctl, caf::exit_reason::user_shutdown);
  }
}

namespace {

/// Stores `total` numbers as fast as the runtime lets it, on its own
/// thread.
class eager_receiver final : public receiver<int> {
public:
  explicit eager_receiver(int total) : total_(total) {
  }

  void on_start() override {
    thread_ = std::thread{[this] {
      for (int i = 0; i < total_ && !is_stopped(); ++i)
        store(i);
    }};
  }

  void on_stop() override {
    if (thread_.joinable())
      thread_.join();
  }

private:
  int total_;
  std::thread thread_;
};

} // namespace

TEST_CASE("receivers store no faster than the maximum rate, losing nothing",
          "[receiver][rate]") {
  auto opts = testing::default_test_options();
  opts.max_rate = 10;
  test::pipeline<int> p{opts};
  p.collect(
    p.context().receiver_stream<int>(std::make_unique<eager_receiver>(50)));
  p.context().start();
  REQUIRE(p.run_until([](const std::vector<int>& xs) { return xs.size() >= 50; }));
  p.context().stop();
  // By the end of batch k (k seconds after the start) at most 10 * k + 1
  // records were allowed through.
  int64_t seen = 0;
  for (auto& info : p.infos()) {
    seen += info.num_records;
    auto seconds = info.batch_time.milliseconds() / 1000;
    CHECK(seen <= 10 * seconds + 1);
  }
  auto xs = p.elements();
  std::sort(xs.begin(), xs.end());
  std::vector<int> expected(50);
  for (int i = 0; i < 50; ++i)
    expected[static_cast<size_t>(i)] = i;
  CHECK(xs == expected);
}
