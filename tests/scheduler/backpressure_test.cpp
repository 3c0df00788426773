#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/receiver/rate_limiter.hpp"
#include "caf_stream/scheduler/pid_rate_estimator.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"

using namespace caf_stream;

// The backpressure loop of the runtime, simulated millisecond by
// millisecond on a model clock: a source offers records at a fixed rate; the
// receiver stores them as fast as its rate limiter lets it (the rest waits at
// the source, as TCP would make it wait); every second the stored records
// become a batch; the scheduler runs one batch at a time at 2 ms per record,
// i.e. the pipeline keeps up with 500 records per second; after each batch
// the estimator's rate goes to the limiter, as the rate controller sends it.
// Before the first estimate, a batch generated while an earlier one has not
// completed sets the estimator's minimum rate, as the rate controller does.

namespace {

constexpr int64_t ms_per_record = 2;

struct scenario {
  bool backpressure = true;
  // With backpressure the rate until the first estimate (none: unlimited);
  // without, the static maximum rate.
  std::optional<double> rate = 2000.0;
  int64_t offered_per_s = 2000;
  // How many records the source offers in all (none: no end).
  std::optional<int64_t> total;
  int64_t seconds = 120;
};

struct batch_figures {
  int64_t time_ms;
  int64_t records;
  int64_t scheduling_ms;
};

std::vector<batch_figures> simulate(const scenario& sc) {
  rate_limiter limiter = sc.backpressure
                           ? rate_limiter{std::nullopt, sc.rate}
                           : rate_limiter{sc.rate};
  pid_rate_estimator estimator{1000};
  bool rate_set = sc.rate.has_value();
  std::vector<batch_figures> result;
  int64_t taken = 0;
  int64_t stored = 0;
  std::optional<caf_stream::time> reserved_until;
  // Batches waiting for the scheduler: (batch time, records).
  std::deque<std::pair<int64_t, int64_t>> queued;
  // When the running batch ends; -1 while the scheduler is idle.
  int64_t busy_until = -1;
  std::pair<int64_t, int64_t> running;
  int64_t running_start = 0;
  for (int64_t now = 1; now <= sc.seconds * 1000; ++now) {
    caf_stream::time t{now};
    auto offered = now * sc.offered_per_s / 1000;
    if (sc.total)
      offered = std::min(offered, *sc.total);
    for (;;) {
      if (!reserved_until && taken < offered)
        reserved_until = limiter.reserve(1, t);
      if (!reserved_until || *reserved_until > t)
        break;
      reserved_until.reset();
      ++taken;
      ++stored;
    }
    if (now % 1000 == 0) {
      queued.emplace_back(now, stored);
      stored = 0;
      if (sc.backpressure && !rate_set
          && (busy_until >= 0 || queued.size() > 1)) {
        limiter.update_rate(estimator.min_rate());
        rate_set = true;
      }
    }
    if (busy_until >= 0 && busy_until <= now) {
      auto processing = busy_until - running_start;
      auto scheduling = running_start - running.first;
      result.push_back({running.first, running.second, scheduling});
      if (sc.backpressure)
        if (auto rate = estimator.compute(running.first, running.second,
                                          processing, scheduling)) {
          limiter.update_rate(*rate);
          rate_set = true;
        }
      busy_until = -1;
    }
    if (busy_until < 0 && !queued.empty()) {
      running = queued.front();
      queued.pop_front();
      running_start = now;
      busy_until = now + std::max(int64_t{1}, running.second * ms_per_record);
    }
  }
  return result;
}

// Mean records per batch and mean scheduling delay of the last `n` batches.
std::pair<int64_t, int64_t> tail_means(const std::vector<batch_figures>& xs,
                                       size_t n) {
  int64_t records = 0;
  int64_t scheduling = 0;
  for (size_t i = xs.size() - n; i < xs.size(); ++i) {
    records += xs[i].records;
    scheduling += xs[i].scheduling_ms;
  }
  return {records / static_cast<int64_t>(n),
          scheduling / static_cast<int64_t>(n)};
}

} // namespace

TEST_CASE("with backpressure an overloaded pipeline converges to its "
          "processing rate",
          "[scheduler][rate][backpressure]") {
  // Offered: 4x what the pipeline processes.
  auto on = simulate(scenario{});
  REQUIRE(on.size() >= 60);
  auto [records, scheduling] = tail_means(on, 30);
  INFO("last 30 batches: " << records << " records, " << scheduling
                           << " ms scheduling delay");
  CHECK(records >= 400);
  CHECK(records <= 520);
  CHECK(scheduling < 500);
  // The backlog of the first seconds is gone: every batch of the last 30
  // starts within its batch interval.
  for (size_t i = on.size() - 30; i < on.size(); ++i)
    CHECK(on[i].scheduling_ms < 1000);
}

TEST_CASE("with a static rate the same pipeline falls ever further behind",
          "[scheduler][rate][backpressure]") {
  scenario sc;
  sc.backpressure = false;
  auto off = simulate(sc);
  REQUIRE(off.size() >= 10);
  // Each batch holds 4 s of work: the delay grows by about 3 s per batch.
  CHECK(off.back().scheduling_ms > 60000);
  CHECK(off[9].scheduling_ms > off[4].scheduling_ms + 10000);
}

// The same loop through the runtime's actors, under the manual clock: a
// receiver offers records at a fixed rate on the clock, and the pipeline's
// job takes 2 ms of the clock per record. The test moves the clock one
// millisecond at a time and waits until the receiver and the running job
// sleep again, so each millisecond's work happens at its time.

namespace {

/// Offers `total` numbers, `per_second` of them per second of the clock.
/// What the rate limiter holds back waits here, as a TCP sender waits.
class paced_receiver final : public receiver<int> {
public:
  paced_receiver(testing::manual_clock& clk, int64_t per_second,
                 int64_t total)
    : clk_(clk), per_second_(per_second), total_(total) {
    // nop
  }

  ~paced_receiver() override {
    on_stop();
  }

  void on_start() override {
    thread_ = std::thread{[this] {
      auto start = clk_.now();
      for (int64_t i = 0; i < total_ && !is_stopped(); ++i) {
        // As the model offers them: record i at the end of its millisecond.
        auto due = start + duration{i * 1000 / per_second_ + 1};
        clk_.sleep_until(due, [this] { return is_stopped(); });
        store(static_cast<int>(i));
      }
      done_ = true;
      clk_.wake();
    }};
  }

  void on_stop() override {
    if (thread_.joinable())
      thread_.join();
  }

  void on_rate_update(double records_per_second) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      rates_.push_back(records_per_second);
    }
    ++rate_updates_;
    clk_.wake();
  }

  bool done() const noexcept {
    return done_.load();
  }

  int64_t rate_updates() const noexcept {
    return rate_updates_.load();
  }

  std::vector<double> rates() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return rates_;
  }

private:
  testing::manual_clock& clk_;
  int64_t per_second_;
  int64_t total_;
  std::atomic<bool> done_{false};
  std::atomic<int64_t> rate_updates_{0};
  mutable std::mutex mtx_;
  std::vector<double> rates_;
  std::thread thread_;
};

/// Counts submitted and completed batches, and the rates the rate
/// controller sends: it runs the controller's estimator on the same
/// batches. Wakes the test that waits for them.
class batch_watch final : public streaming_listener {
public:
  batch_watch(testing::manual_clock& clk,
              std::optional<pid_rate_estimator> estimator)
    : clk_(clk), estimator_(estimator) {
    // nop
  }

  void on_batch_submitted(const batch_info&) override {
    ++submitted_;
    clk_.wake();
  }

  void on_batch_completed(const batch_info& info) override {
    if (estimator_ && !info.failure_reason)
      if (auto rate = estimator_->compute(info.batch_time.milliseconds(),
                                          info.num_records,
                                          info.processing_delay()->count(),
                                          info.scheduling_delay()->count()))
        add_rate(*rate);
    ++completed_;
    clk_.wake();
  }

  /// Adds a rate the controller sends.
  void add_rate(double records_per_second) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      rates_.push_back(records_per_second);
    }
    ++rate_count_;
  }

  int64_t submitted() const noexcept {
    return submitted_.load();
  }

  int64_t completed() const noexcept {
    return completed_.load();
  }

  int64_t rate_count() const noexcept {
    return rate_count_.load();
  }

  std::vector<double> rates() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return rates_;
  }

private:
  testing::manual_clock& clk_;
  std::optional<pid_rate_estimator> estimator_;
  std::atomic<int64_t> submitted_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> rate_count_{0};
  mutable std::mutex mtx_;
  std::vector<double> rates_;
};

/// Runs `sc` through a streaming context and returns its batches' figures.
/// Checks that the pipeline saw every record the source offered, once.
std::vector<batch_figures> run_through_runtime(const scenario& sc) {
  auto opts = testing::default_test_options();
  opts.backpressure_enabled = sc.backpressure;
  if (sc.backpressure) {
    if (sc.rate)
      opts.backpressure_initial_rate = *sc.rate;
  } else {
    opts.max_rate = sc.rate.value_or(0);
  }
  test::pipeline<int> p{opts};
  auto& clk = p.clock();
  auto watch = std::make_shared<batch_watch>(
    clk, sc.backpressure ? std::optional<pid_rate_estimator>{1000}
                         : std::nullopt);
  p.context().add_streaming_listener(watch);
  auto rcv = std::make_unique<paced_receiver>(clk, sc.offered_per_s,
                                              *sc.total);
  auto& source = *rcv;
  std::vector<int> seen(static_cast<size_t>(*sc.total), 0);
  // Set when the run ends, early or not: a sleeping job gives up.
  std::atomic<bool> ending{false};
  // Batches whose job ended: listeners hear of them through the listener
  // bus, so the watch may lag behind.
  std::atomic<int64_t> jobs_done{0};
  p.context().receiver_stream<int>(std::move(rcv)).foreach_rdd(
    [&](const rdd<int>& xs) {
      auto records = xs.collect();
      for (auto x : records)
        ++seen.at(static_cast<size_t>(x));
      auto work = duration{static_cast<int64_t>(records.size())
                           * ms_per_record};
      clk.sleep_until(clk.now() + work, [&] { return ending.load(); });
      ++jobs_done;
      clk.wake();
    });
  struct end_guard {
    std::atomic<bool>& ending;
    testing::manual_clock& clk;
    ~end_guard() {
      ending = true;
      clk.wake();
    }
  } guard{ending, clk};
  p.context().start();
  int64_t cut = 0;
  // All is done at the clock's time when every batch cut is submitted (its
  // blocks sealed), the receiver sleeps (until it has offered everything),
  // the job sleeps while a batch is not completed, the watch heard of every
  // batch whose job ended, and every rate the controller sent has reached
  // the receiver.
  auto settled = [&](size_t sleepers) {
    auto completed = watch->completed();
    size_t expected = source.done() ? 0 : 1;
    if (cut > completed)
      ++expected;
    return watch->submitted() == cut && completed == jobs_done.load()
           && sleepers == expected
           && source.rate_updates() == watch->rate_count();
  };
  // Whether a rate is in force before the first estimate.
  bool rate_set = sc.rate.has_value();
  for (int64_t ms = 0; ms <= sc.seconds * 1000; ++ms) {
    if (ms > 0)
      clk.advance(duration{1});
    if (ms / 1000 > cut) {
      cut = ms / 1000;
      // A batch cut while an earlier one runs sets the minimum rate.
      if (sc.backpressure && !rate_set && watch->rate_count() == 0
          && cut - watch->completed() > 1) {
        watch->add_rate(pid_rate_estimator{1000}.min_rate());
        rate_set = true;
      }
    }
    if (!clk.wait_for_sleepers(settled, std::chrono::seconds(60)))
      FAIL("the runtime did not settle at " << ms << " ms: " << cut
                                            << " batches cut, "
                                            << watch->completed()
                                            << " completed, "
                                            << source.rate_updates() << " of "
                                            << watch->rate_count()
                                            << " rates received");
  }
  // The receiver got the controller's rates, in order; without
  // backpressure there are none. (Asked before the stop, which ends the
  // receiver.)
  auto received_rates = source.rates();
  p.context().stop();
  CHECK(received_rates == watch->rates());
  CHECK(received_rates.empty() == !sc.backpressure);
  CHECK(std::count(seen.begin(), seen.end(), 1) == *sc.total);
  std::vector<batch_figures> result;
  for (auto& info : p.infos())
    result.push_back({info.batch_time.milliseconds(), info.num_records,
                      info.scheduling_delay()->count()});
  return result;
}

// The index of the first batch from which on every batch starts within its
// interval.
size_t caught_up_at(const std::vector<batch_figures>& xs) {
  size_t result = xs.size();
  while (result > 0 && xs[result - 1].scheduling_ms < 1000)
    --result;
  return result;
}

} // namespace

TEST_CASE("the runtime's batches follow the backpressure model, losing "
          "nothing",
          "[scheduler][rate][backpressure]") {
  // The source offers 4x what the pipeline processes, 16000 records in all.
  scenario sc;
  sc.total = 16000;
  sc.seconds = 60;
  // Spark's defaults: no initial rate, so the first batches take what
  // arrives until a batch has to wait; or without backpressure.
  sc.backpressure = GENERATE(true, false);
  sc.rate.reset();
  CAPTURE(sc.backpressure);
  auto actual = run_through_runtime(sc);
  REQUIRE(actual.size() == static_cast<size_t>(sc.seconds));
  // The model completes an empty batch a millisecond after it starts: it
  // runs a second longer to complete the last one.
  ++sc.seconds;
  auto model = simulate(sc);
  REQUIRE(model.size() >= actual.size());
  // A record due at a batch's time may go to that batch or the next,
  // whichever the receiver's thread and the block generator reach first:
  // the runtime may differ from the model by a few records and the
  // milliseconds they take.
  for (size_t i = 0; i < actual.size(); ++i) {
    CAPTURE(i);
    CHECK(actual[i].time_ms == model[i].time_ms);
    CHECK(std::abs(actual[i].records - model[i].records)
          <= 5 + model[i].records / 50);
    CHECK(std::abs(actual[i].scheduling_ms - model[i].scheduling_ms) <= 50);
  }
  if (sc.backpressure) {
    // Two batches of 2000 records come in before the first waits; then
    // the minimum rate holds until the first estimate (batch 2's, at
    // 9 s), and from there the rate converges to the processing rate.
    CHECK(caught_up_at(actual) <= 10);
    auto [records, scheduling] = tail_means({actual.begin() + 12,
                                             actual.begin() + 32}, 20);
    CHECK(records >= 490);
    CHECK(records <= 510);
    CHECK(scheduling < 10);
  } else {
    // Every batch holds 4 s of work until the source is done: the delay
    // grows by 3 s per batch and the backlog drains only after the end.
    CHECK(actual[7].records == Approx(2000).margin(5));
    CHECK(actual[7].scheduling_ms > 20000);
    CHECK(caught_up_at(actual) > 8);
  }
}
