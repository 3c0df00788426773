#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/scheduler/job.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

class dstream_graph;

/// A DStream in the graph, independent of its element type. Knows its
/// parents, its slide and for how long it keeps the RDDs it generated.
class dstream_node_base {
public:
  dstream_node_base(dstream_graph& graph, duration slide,
                    std::vector<dstream_node_base*> parents);

  virtual ~dstream_node_base();

  /// The interval at which this stream generates RDDs.
  duration slide() const noexcept {
    return slide_;
  }

  /// The time before the first batch; batch times are `zero + k * slide`.
  time zero_time() const noexcept {
    return zero_;
  }

  /// For how long generated RDDs are kept (at least the slide).
  duration remember_duration() const noexcept {
    return remember_;
  }

  dstream_graph& graph() const noexcept {
    return *graph_;
  }

  const std::vector<dstream_node_base*>& parents() const noexcept {
    return parents_;
  }

  /// Sets the zero time (called once, when the graph starts).
  void initialize(time zero) noexcept {
    zero_ = zero;
  }

  /// Keeps generated RDDs for at least `d`, and makes the parents keep theirs
  /// for as long as this stream needs them.
  void remember(duration d);

  /// Whether starting the graph needs a checkpoint directory (Spark's
  /// `mustCheckpoint`: state streams and windows with an inverse function).
  virtual bool must_checkpoint() const noexcept {
    return false;
  }

  /// Returns whether this stream generates an RDD at `t`.
  bool is_time_valid(time t) const noexcept {
    return t > zero_ && t.is_on_grid(zero_, slide_);
  }

  /// Drops what was generated for batches older than the remember duration.
  virtual void clear_metadata(time t) = 0;

protected:
  /// For how long the parents must keep their RDDs so that this stream can
  /// compute what it remembers (windows add their length).
  virtual duration parent_remember_duration() const noexcept {
    return remember_;
  }

private:
  dstream_graph* graph_;
  duration slide_;
  std::vector<dstream_node_base*> parents_;
  time zero_;
  duration remember_;
};

/// A DStream of `T`: generates (and memoizes) one RDD per valid batch time.
/// Only the job executor's thread calls `get_or_compute`.
template <class T>
class dstream_node : public dstream_node_base {
public:
  using value_type = T;

  using dstream_node_base::dstream_node_base;

  /// The RDD of batch `t`, computed once; none at times that are not on the
  /// slide grid (and where a source has nothing to give).
  std::optional<rdd<T>> get_or_compute(time t) {
    if (!is_time_valid(t))
      return std::nullopt;
    if (auto i = generated_.find(t); i != generated_.end())
      return i->second;
    auto result = compute(t);
    generated_.emplace(t, result);
    return result;
  }

  void clear_metadata(time t) override {
    auto horizon = t - remember_duration();
    generated_.erase(generated_.begin(), generated_.upper_bound(horizon));
  }

protected:
  /// Generates the RDD of batch `t` (lazily: no task runs here).
  virtual std::optional<rdd<T>> compute(time t) = 0;

private:
  std::map<time, std::optional<rdd<T>>> generated_;
};

/// A stream fed from outside the graph (queue, receiver, files, tests).
/// `generate` runs in the job generator when batch `t` is cut; `compute`
/// later in the job, so inputs guard what they hand over between the two.
class input_node_base {
public:
  virtual ~input_node_base();

  /// Fixes the input of batch `t`; returns its record count (0 if unknown).
  virtual int64_t generate(time t) = 0;

  /// Short name for logs and errors ("queue_stream", "socket_text_stream").
  virtual const char* name() const noexcept = 0;
};

/// An output operation: turns a batch into a job.
class output_node_base {
public:
  virtual ~output_node_base();

  /// The job for batch `t`, or none at times off the output's slide grid.
  virtual std::optional<job> generate_job(time t) = 0;
};

} // namespace caf_stream::detail
