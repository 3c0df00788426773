#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

  /// The graph's context, which the RDDs this stream generates carry.
  const rdd_context_ptr& context() const noexcept {
    return context_;
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

  /// Whether the RDDs this stream generates keep their partitions once
  /// computed (`dstream::persist`).
  bool persisted() const noexcept {
    return persisted_;
  }

  void persist() noexcept {
    persisted_ = true;
  }

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

  /// Whether another node of the program computes the same RDD for a batch
  /// from the batch's job set alone: no state, no earlier batch, no user
  /// code that runs per batch on the driver (`transform`), inputs whose
  /// records serialize. Such a stream's map stages may run on worker nodes.
  virtual bool portable() const noexcept {
    return false;
  }

  /// The lineage that another node of the program computes alike for batch
  /// `t`, as this stream built it: a portable stream's RDD, a state stream's
  /// shuffle of a portable parent's RDD (while it runs); null if none (yet).
  /// The map stages in it may run on worker nodes.
  virtual std::shared_ptr<const rdd_node_base>
  portable_lineage(time t) const = 0;

  /// The same lineage on another node: computed from the batch's inputs if
  /// it was not yet; null if the stream has none at `t`.
  virtual std::shared_ptr<const rdd_node_base> portable_lineage_at(time t) = 0;

  // -- data checkpoints (streams for which `must_checkpoint()` holds) --------

  /// How often the state is written: 0 until set by `dstream::checkpoint`
  /// or, at start, to `default_checkpoint_interval()`.
  duration checkpoint_interval() const noexcept {
    return checkpoint_interval_;
  }

  /// Spark's default checkpoint interval of a stream: the smallest multiple
  /// of the slide that is at least 10 s.
  virtual duration default_checkpoint_interval() const noexcept {
    auto slide = this->slide().count();
    return duration{(10000 + slide - 1) / slide * slide};
  }

  void set_checkpoint_interval(duration d) noexcept {
    checkpoint_interval_ = d;
  }

  /// The state this stream needs to go on after batch `t`, as bytes.
  virtual std::string checkpoint_data(time t);

  /// Restores what `checkpoint_data` wrote (after the graph started, before
  /// the first batch).
  virtual void restore_data(const std::string& bytes);

protected:
  /// For how long the parents must keep their RDDs so that this stream can
  /// compute what it remembers (windows add their length).
  virtual duration parent_remember_duration() const noexcept {
    return remember_;
  }

private:
  dstream_graph* graph_;
  rdd_context_ptr context_;
  duration slide_;
  std::vector<dstream_node_base*> parents_;
  time zero_;
  duration remember_;
  duration checkpoint_interval_{0};
  bool persisted_ = false;
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
    if (result && !result->context())
      result = result->with_context(context());
    if (result && persisted())
      result = result->cache();
    generated_.emplace(t, result);
    return result;
  }

  void clear_metadata(time t) override {
    auto horizon = t - remember_duration();
    generated_.erase(generated_.begin(), generated_.upper_bound(horizon));
  }

  std::shared_ptr<const rdd_node_base>
  portable_lineage(time t) const override {
    if (!portable())
      return nullptr;
    auto i = generated_.find(t);
    if (i == generated_.end() || !i->second)
      return nullptr;
    return i->second->node();
  }

  std::shared_ptr<const rdd_node_base> portable_lineage_at(time t) override {
    if (!portable())
      return nullptr;
    auto x = get_or_compute(t);
    if (!x)
      return nullptr;
    return x->node();
  }

  /// The RDDs generated for the times in `(after, upto]`, oldest first.
  std::vector<std::pair<time, rdd<T>>> generated_between(time after,
                                                         time upto) const {
    std::vector<std::pair<time, rdd<T>>> result;
    for (auto i = generated_.upper_bound(after);
         i != generated_.end() && i->first <= upto; ++i)
      if (i->second)
        result.emplace_back(i->first, *i->second);
    return result;
  }

  /// Sets the RDD of batch `t` (recovery from a checkpoint).
  void restore(time t, rdd<T> x) {
    generated_[t] = std::move(x);
  }

protected:
  /// Generates the RDD of batch `t` (lazily: no task runs here).
  virtual std::optional<rdd<T>> compute(time t) = 0;

private:
  std::map<time, std::optional<rdd<T>>> generated_;
};

/// A stream fed from outside the graph (queue, receiver, files, tests).
/// `generate` runs in the job generator when batch `t` is cut; what it
/// fixed travels in the batch's job set to where the batch runs, which
/// hands it back (`bind_generated`) before the jobs `compute` it.
class input_node_base {
public:
  virtual ~input_node_base();

  /// Fixes the input of batch `t`: its RDD and record count; a receiver
  /// stream's comes as blocks instead (an empty result).
  virtual generated_input generate(time t) = 0;

  /// Takes what `generate` fixed for batch `t`, where the batch runs.
  virtual void bind_generated(time t, generated_input x);

  /// Short name for logs and errors ("queue_stream", "socket_text_stream").
  virtual const char* name() const noexcept = 0;

  /// What recovery needs to give batches up to `t` the same input again
  /// (the files each batch took, ...), as bytes; empty if nothing.
  virtual std::string checkpoint_positions(time t);

  /// Restores what `checkpoint_positions` wrote.
  virtual void restore_positions(const std::string& bytes);

  /// Called once when the context stops (the direct Kafka stream commits
  /// the offsets the program queued).
  virtual void stop() {
    // nop
  }

  /// Called from another thread when the context stops generating batches,
  /// possibly while `generate` runs: an input that waits on the outside
  /// world gives that wait up, and later ones (the direct Kafka stream's
  /// requests to unreachable brokers).
  virtual void interrupt() noexcept {
    // nop
  }
};

/// An input without a receiver whose batches a rate controller limits
/// (Spark's DirectKafkaRateController): the runtime gives it a rate
/// controller when backpressure is on, which hears of its batches' records
/// and sends its estimates to `update_rate`.
class rate_controlled_input {
public:
  virtual ~rate_controlled_input();

  /// The stream's id among the graph's rate-controlled streams (receiver
  /// streams included).
  virtual int32_t stream_id() const noexcept = 0;

  /// Applies the rate controller's estimate (records per second) to the
  /// batches generated from now on. Thread-safe.
  virtual void update_rate(double records_per_second) = 0;

  /// The records of batch `t`, once it was generated (0 if unknown).
  virtual int64_t records_of(time t) = 0;
};

/// An output operation: one job per batch on its parent's slide grid.
class output_node_base {
public:
  virtual ~output_node_base();

  /// Returns whether the operation has a job at batch `t`.
  virtual bool has_job(time t) const noexcept = 0;

  /// What the operation is ("print", "foreach_rdd", ...).
  virtual const char* name() const noexcept = 0;

  /// Computes the RDD of batch `t` and runs the operation on it (on the job
  /// executor's thread).
  virtual void run(time t) = 0;
};

} // namespace caf_stream::detail
