#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace caf_stream {

/// Decides which stages the job executor runs on its own thread instead of
/// spreading their tasks over the operator workers. Handing a task to a
/// sleeping worker costs a thread wake-up (tens of microseconds on a busy
/// or virtual machine), more than the whole stage of an empty or tiny
/// batch: a stage that took less than `bound` in the last batch runs in
/// place. Stages are known by their position among the batch's stages (a
/// graph runs the same stages every batch). A stage running in place that
/// passes the bound hands its remaining tasks to the workers, so a batch
/// whose data grew loses the parallelism of one task at most; a stage seen
/// for the first time is spread.
class stage_placement {
public:
  using duration = std::chrono::nanoseconds;

  explicit stage_placement(duration bound) noexcept : bound_(bound) {
    // nop
  }

  /// A new batch begins: its first stage is stage 0.
  void new_batch() noexcept {
    next_ = 0;
  }

  /// The position of the stage that begins now.
  size_t next_stage() noexcept {
    return next_++;
  }

  /// Whether stage `stage` runs in place: it took less than the bound last
  /// time.
  bool in_place(size_t stage) const noexcept {
    return stage < last_.size() && last_[stage] < bound_;
  }

  /// Whether a stage running in place for `elapsed` passed the bound.
  bool over_bound(duration elapsed) const noexcept {
    return elapsed >= bound_;
  }

  /// Stage `stage` took `elapsed` (in place or spread).
  void took(size_t stage, duration elapsed);

private:
  duration bound_;
  size_t next_ = 0;
  // What each stage took last time; `duration::max()`: not seen yet.
  std::vector<duration> last_;
};

} // namespace caf_stream
