#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "caf_stream/receiver/rate_limiter.hpp"
#include "caf_stream/scheduler/pid_rate_estimator.hpp"

using namespace caf_stream;

// The backpressure loop of the runtime, simulated millisecond by
// millisecond on a model clock: a source offers records at a fixed rate; the
// receiver stores them as fast as its rate limiter lets it (the rest waits at
// the source, as TCP would make it wait); every second the stored records
// become a batch; the scheduler runs one batch at a time at 2 ms per record,
// i.e. the pipeline keeps up with 500 records per second; after each batch
// the estimator's rate goes to the limiter, as the rate controller sends it.

namespace {

struct batch_figures {
  int64_t records;
  int64_t scheduling_ms;
};

std::vector<batch_figures> simulate(bool backpressure, int64_t offered_per_s,
                                    int64_t seconds) {
  rate_limiter limiter = backpressure
                           ? rate_limiter{std::nullopt, 2000.0}
                           : rate_limiter{2000.0};
  pid_rate_estimator estimator{1000};
  std::vector<batch_figures> result;
  int64_t waiting_at_source = 0;
  int64_t stored = 0;
  std::optional<caf_stream::time> reserved_until;
  // Batches waiting for the scheduler: (batch time, records).
  std::deque<std::pair<int64_t, int64_t>> queued;
  // When the running batch ends; -1 while the scheduler is idle.
  int64_t busy_until = -1;
  std::pair<int64_t, int64_t> running;
  int64_t running_start = 0;
  for (int64_t now = 1; now <= seconds * 1000; ++now) {
    caf_stream::time t{now};
    waiting_at_source += offered_per_s / 1000;
    for (;;) {
      if (!reserved_until && waiting_at_source > 0)
        reserved_until = limiter.reserve(1, t);
      if (!reserved_until || *reserved_until > t)
        break;
      reserved_until.reset();
      --waiting_at_source;
      ++stored;
    }
    if (now % 1000 == 0) {
      queued.emplace_back(now, stored);
      stored = 0;
    }
    if (busy_until >= 0 && busy_until <= now) {
      auto processing = busy_until - running_start;
      auto scheduling = running_start - running.first;
      result.push_back({running.second, scheduling});
      if (backpressure)
        if (auto rate = estimator.compute(running.first, running.second,
                                          processing, scheduling))
          limiter.update_rate(*rate);
      busy_until = -1;
    }
    if (busy_until < 0 && !queued.empty()) {
      running = queued.front();
      queued.pop_front();
      running_start = now;
      busy_until = now + std::max(int64_t{1}, running.second * 2);
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
  auto on = simulate(true, 2000, 120);
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
  auto off = simulate(false, 2000, 120);
  REQUIRE(off.size() >= 10);
  // Each batch holds 4 s of work: the delay grows by about 3 s per batch.
  CHECK(off.back().scheduling_ms > 60000);
  CHECK(off[9].scheduling_ms > off[4].scheduling_ms + 10000);
}
