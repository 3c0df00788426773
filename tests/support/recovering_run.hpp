#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/checkpoints.hpp"

namespace support {

/// How a run of `run_recovering` went: whether it recovered from a
/// checkpoint, the times of the batches it ran, and why batches failed, by
/// batch time (all in milliseconds).
struct recovering_run {
  bool recovered = false;
  std::vector<int64_t> batches;
  std::map<int64_t, std::string> failures;
};

/// Runs the graph that `build(ssc)` adds to a context of 1 s batches that
/// checkpoints to `checkpoints`, made by `streaming_context::get_or_create`
/// on a manual clock at `from_s` seconds, until the batch of `to_s` seconds
/// completed, each batch's checkpoint written before the next batch; then
/// stops it without a final checkpoint, as if it died. The next run on
/// `checkpoints` recovers from the newest checkpoint and runs again the
/// batches after it (after the state it restores, for a graph with state
/// streams), as an application started again does.
template <class Build>
recovering_run run_recovering(const std::string& checkpoints, int64_t from_s,
                              int64_t to_s, Build build) {
  class batch_log final : public caf_stream::streaming_listener {
  public:
    void on_batch_completed(const caf_stream::batch_info& info) override {
      std::lock_guard<std::mutex> guard{mtx_};
      last_ = info.batch_time.milliseconds();
      run_.batches.push_back(last_);
      if (info.failure_reason)
        run_.failures[last_] = *info.failure_reason;
      cv_.notify_all();
    }

    recovering_run wait_for(int64_t t_ms) {
      std::unique_lock<std::mutex> guard{mtx_};
      if (!cv_.wait_for(guard, std::chrono::seconds(60),
                        [&] { return last_ >= t_ms; }))
        throw std::runtime_error("batch " + std::to_string(t_ms)
                                 + " ms did not complete");
      return run_;
    }

  private:
    std::mutex mtx_;
    std::condition_variable cv_;
    recovering_run run_;
    int64_t last_ = 0;
  };
  using std::chrono::seconds;
  auto clk = std::make_shared<caf_stream::testing::manual_clock>(
    caf_stream::time{from_s * 1000});
  auto ssc = caf_stream::streaming_context::get_or_create(checkpoints, [&] {
    auto ctx = std::make_unique<caf_stream::streaming_context>(
      seconds(1), caf_stream::testing::default_test_options(), clk);
    ctx->checkpoint(checkpoints);
    build(*ctx);
    return ctx;
  });
  auto log = std::make_shared<batch_log>();
  ssc->add_streaming_listener(log);
  ssc->start();
  recovering_run result;
  for (auto k = from_s + 1; k <= to_s; ++k) {
    clk->advance(seconds(1));
    result = log->wait_for(k * 1000);
    // Each batch's checkpoint on disk before the next batch: the writer
    // skips records that newer ones supersede while it writes.
    if (!wait_for_checkpoint(checkpoints, k * 1000))
      throw std::runtime_error("the checkpoint of batch "
                               + std::to_string(k * 1000)
                               + " ms was not written");
  }
  result.recovered = ssc->is_recovered();
  ssc->stop(false);
  return result;
}

/// An application whose graph `build(ssc)` adds runs batches 1 to 3 and
/// dies before its checkpoints of batches 2 and 3 are written; then
/// `between()`; then it is started again, recovers from the checkpoint of
/// batch 1, runs batches 2 and 3 again and then batch 4. Returns both runs.
template <class Build, class Between>
std::pair<recovering_run, recovering_run>
die_and_recover(const std::string& checkpoints, Build build, Between between) {
  auto first = run_recovering(checkpoints, 0, 3, build);
  remove_checkpoints_after(checkpoints, 1000);
  between();
  auto second = run_recovering(checkpoints, 3, 4, build);
  return {std::move(first), std::move(second)};
}

} // namespace support
