#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

namespace caf_stream::detail {

/// The lineage node of an RDD, independent of its element type.
class rdd_node_base {
public:
  rdd_node_base() noexcept;

  virtual ~rdd_node_base() = default;

  // -- identity (Spark's `id`, `name` and the class `toDebugString` names) --

  /// A number no other RDD node of this process has.
  uint64_t id() const noexcept {
    return id_;
  }

  /// The name `set_name` gave, empty if none (Spark's `RDD.name`, which
  /// may change after the RDD is made).
  std::string name() const;

  void set_name(std::string name) const;

  /// The name of Spark's RDD class that this node is ("MapPartitionsRDD",
  /// "ShuffledRDD", ...), or "RDD".
  virtual const char* kind() const noexcept {
    return "RDD";
  }

  /// Whether this node keeps its one parent's partitions once computed
  /// (`cache`): Spark's storage level of that parent (`shown_node`).
  virtual bool is_cache() const noexcept {
    return false;
  }

  /// Number of partitions, each computed by one task.
  virtual size_t num_partitions() const = 0;

  /// Runs the shuffle stages this node depends on, parents first (a
  /// shuffle's parents only where its map stage runs on this node), and
  /// fetches the inputs other nodes keep. Idempotent and called on the
  /// job's thread before any task of the final stage.
  virtual void prepare(task_runner& runner) const = 0;

  /// The nodes this one reads, always in the same order: a node's path from
  /// a generated RDD names it on every node of the program (`lineage.hpp`).
  virtual std::vector<const rdd_node_base*> parents() const {
    return {};
  }

  /// Whether partition `i` reads partition `i` of the parents taken one
  /// after the other, where their numbers of partitions add up to this
  /// node's (one-to-one nodes, unions): what the lineage's walks from a
  /// task to its input assume (`lineage.hpp`). A node whose numbers add up
  /// by chance (a 2 x 2 `cartesian`) says no.
  virtual bool reads_parents_in_turn() const noexcept {
    return true;
  }

  /// The worker nodes that keep partition `index`'s input, where its task
  /// runs best, the first best (Spark's `preferredLocations`); empty if
  /// none does. Only inputs know them: `map_task_locations` finds them
  /// through the lineage.
  virtual std::vector<std::string> locations(size_t index) const;

  /// Prepares the parents (`prepare`): what a shuffle's map stage needs
  /// before its tasks run on this node.
  void prepare_parents(task_runner& runner) const;

  /// Whether partition `index` is held here (a cached partition an action
  /// filled): an action reads it here, and no worker node computes it
  /// again.
  virtual bool holds(size_t) const {
    return false;
  }

  // -- shuffles: nodes whose `prepare` runs a map stage ----------------------

  /// Whether this node is a shuffle: its partitions read the buckets of a
  /// map stage, which `prepare` runs.
  virtual bool is_shuffle() const noexcept {
    return false;
  }

  /// Whether this shuffle's map tasks can run on another node: their
  /// buckets' records serialize.
  virtual bool map_output_serializable() const noexcept {
    return false;
  }

  /// Runs map tasks `tasks` of this shuffle here for the node whose stage it
  /// is (another node's copy of this node), as one `runner.run` (this
  /// node's task slots), and returns each task's buckets as bytes, in
  /// order; throws `stream_error` unless `map_output_serializable()`. Keeps
  /// nothing here.
  virtual std::vector<std::string>
  run_map_tasks(const std::vector<uint32_t>& tasks, task_runner& runner) const;

  /// Takes the buckets of map task `task` that another node computed
  /// (`run_map_tasks`), in place of running the task here; called while the
  /// map stage runs (between its start and its end).
  virtual void add_map_output(size_t task, const std::string& bytes) const;

  /// Whether this shuffle's reduce tasks can run on another node: its map
  /// tasks' buckets and its own records serialize.
  virtual bool reduce_serializable() const noexcept {
    return false;
  }

  /// Runs reduce tasks `partitions` of this shuffle here for the node whose
  /// stage it is, as one `runner.run`, from `buckets[k]`: bucket
  /// `partitions[k]` of every map task as bytes (a part of a map task's
  /// `run_map_tasks` frame, `bucket_spans`), and returns each partition's
  /// records as bytes (`add_reduced`), in order; throws `stream_error`
  /// unless `reduce_serializable()`. Keeps nothing here.
  virtual std::vector<std::string>
  run_reduce_tasks(const std::vector<uint32_t>& partitions,
                   const std::vector<std::vector<std::string>>& buckets,
                   task_runner& runner) const;

  /// Takes partition `index` that another node reduced
  /// (`run_reduce_tasks`): its tasks read it instead of the map output;
  /// called while the map stage runs.
  virtual void add_reduced(size_t index, const std::string& bytes) const;

  /// Whether this shuffle's partitions can come computed from the driver
  /// (`use_reduced`): its records serialize. Those of a shuffle whose
  /// reduce tasks run on other nodes do; a shuffle that only moves records
  /// (a `repartition`) says so itself.
  virtual bool takes_reduced() const noexcept {
    return reduce_serializable();
  }

  /// Takes partition `index`, computed on the driver, before anything here
  /// prepared this shuffle: the map stage does not run here, and the
  /// partitions that did not come this way cannot be computed (they throw).
  /// A worker node's map tasks of a later stage read them
  /// (`map_tasks_read_reduced`). Throws unless `takes_reduced()`.
  virtual void use_reduced(size_t index, const std::string& bytes) const;

  // -- result stages: partitions computed where their input is ---------------

  /// Whether this node's records serialize: another node can compute its
  /// partitions for a result stage (`run_result_tasks`).
  virtual bool records_serializable() const noexcept {
    return false;
  }

  /// Computes partitions `partitions` here for the node whose result stage
  /// it is (another node's copy of this node), as one `runner.run`, once
  /// `prepare` ran, and returns for each, in order, its records as bytes
  /// (`to_bytes(std::vector<T>)`), or with `result_form::count` their
  /// number (`count_bytes`); throws `stream_error` for records unless
  /// `records_serializable()`.
  virtual std::vector<std::string>
  run_result_tasks(const std::vector<uint32_t>& partitions,
                   task_runner& runner, result_form form) const;

private:
  uint64_t id_;
  mutable std::mutex name_mtx_;
  mutable std::string name_;
};

/// The node whose id and name the RDD of `x` has: `x` itself, or for a
/// cache the node it keeps (Spark's `cache` gives the same RDD).
const rdd_node_base& shown_node(const rdd_node_base& x);

/// Spark's `toDebugString` of `x`: one line per RDD of its lineage, each
/// shuffle's parents indented under a "+-".
std::string debug_string(const rdd_node_base& x);

/// A partition's number of records as a result task answers it
/// (`result_form::count`): its decimal digits.
std::string count_bytes(int64_t n);

/// The number that `count_bytes` wrote; throws `std::invalid_argument` if
/// `bytes` are anything else.
int64_t count_of_bytes(const std::string& bytes);

/// A node that pushes the records of one partition into a sink. Narrow
/// operations wrap their parent's sink, so a chain of them runs fused inside
/// one task per partition, with no intermediate collections.
template <class T>
class rdd_node : public rdd_node_base {
public:
  using sink = function_ref<void(const T&)>;

  /// Pushes every record of partition `index` into `out`.
  virtual void compute(size_t index, sink out) const = 0;

  /// Collects partition `index` into a vector (nodes that hold their
  /// records move them in where they can).
  virtual std::vector<T> materialize(size_t index) const {
    std::vector<T> result;
    compute(index, [&](const T& x) { result.push_back(x); });
    return result;
  }

  /// The records of partition `index` if this node holds them as one
  /// vector (a parallelized collection, a received block): what reads them
  /// whole needs no copy. Null otherwise.
  virtual const std::vector<T>* held_records(size_t) const {
    return nullptr;
  }

  /// The records of partition `index` as bytes (`to_bytes` of them as a
  /// `std::vector<T>`), made from the records this node holds where it
  /// holds them.
  std::string partition_bytes(size_t index) const {
    if (const auto* xs = held_records(index))
      return to_bytes(*xs);
    return to_bytes(materialize(index));
  }

  /// The number of records of partition `index`, computed without keeping
  /// them.
  int64_t count_records(size_t index) const {
    int64_t n = 0;
    compute(index, [&](const T&) { ++n; });
    return n;
  }

  bool records_serializable() const noexcept override {
    return is_serializable<T>::value;
  }

  std::vector<std::string>
  run_result_tasks(const std::vector<uint32_t>& partitions,
                   task_runner& runner, result_form form) const override {
    std::vector<std::string> result(partitions.size());
    if (form == result_form::count) {
      runner.run(partitions.size(), [&](size_t k) {
        result[k] = count_bytes(count_records(partitions[k]));
      });
      return result;
    }
    if constexpr (is_serializable<T>::value) {
      runner.run(partitions.size(), [&](size_t k) {
        result[k] = partition_bytes(partitions[k]);
      });
      return result;
    } else {
      return rdd_node_base::run_result_tasks(partitions, runner, form);
    }
  }
};

template <class T>
using rdd_node_ptr = std::shared_ptr<const rdd_node<T>>;

/// Partitions held in memory: a parallelized collection or received blocks.
template <class T>
class collection_node final : public rdd_node<T> {
public:
  using partition = std::shared_ptr<const std::vector<T>>;

  explicit collection_node(std::vector<partition> partitions)
    : partitions_(std::move(partitions)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "ParallelCollectionRDD";
  }

  size_t num_partitions() const override {
    return partitions_.size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    for (const auto& x : *partitions_[index])
      out(x);
  }

  const std::vector<T>* held_records(size_t index) const override {
    return partitions_[index].get();
  }

private:
  std::vector<partition> partitions_;
};

/// A one-to-one dependency: `step(x, out)` turns each parent record into any
/// number of records (map, filter, flat_map, map_values, ...).
template <class In, class Out, class Step>
class narrow_node final : public rdd_node<Out> {
public:
  narrow_node(rdd_node_ptr<In> parent, Step step)
    : parent_(std::move(parent)), step_(std::move(step)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "MapPartitionsRDD";
  }

  size_t num_partitions() const override {
    return parent_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    parent_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<Out>::sink out) const override {
    parent_->compute(index, [&](const In& x) { step_(x, out); });
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

private:
  rdd_node_ptr<In> parent_;
  Step step_;
};

/// `f(partition)` or `f(index, partition)` sees a whole partition at once
/// (map_partitions, map_partitions_with_index, glom).
template <class In, class Out, class F>
class partition_node final : public rdd_node<Out> {
public:
  partition_node(rdd_node_ptr<In> parent, F f)
    : parent_(std::move(parent)), f_(std::move(f)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "MapPartitionsRDD";
  }

  size_t num_partitions() const override {
    return parent_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    parent_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<Out>::sink out) const override {
    auto input = parent_->materialize(index);
    if constexpr (std::is_invocable_v<const F&, size_t,
                                      const std::vector<In>&>) {
      for (const auto& y : f_(index, input))
        out(y);
    } else {
      for (const auto& y : f_(input))
        out(y);
    }
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

private:
  rdd_node_ptr<In> parent_;
  F f_;
};

/// The partitions of all parents, one after the other (union).
template <class T>
class union_node final : public rdd_node<T> {
public:
  explicit union_node(std::vector<rdd_node_ptr<T>> parents)
    : parents_(std::move(parents)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "UnionRDD";
  }

  size_t num_partitions() const override {
    size_t n = 0;
    for (const auto& p : parents_)
      n += p->num_partitions();
    return n;
  }

  void prepare(task_runner& runner) const override {
    for (const auto& p : parents_)
      p->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    for (const auto& p : parents_) {
      auto n = p->num_partitions();
      if (index < n) {
        p->compute(index, out);
        return;
      }
      index -= n;
    }
  }

  std::vector<const rdd_node_base*> parents() const override {
    std::vector<const rdd_node_base*> result;
    for (const auto& p : parents_)
      result.push_back(p.get());
    return result;
  }

private:
  std::vector<rdd_node_ptr<T>> parents_;
};

/// Spark's `coalesce` without a shuffle: partition `i` of `n` reads the
/// parent's partitions `[i * m / n, (i + 1) * m / n)` of `m`, one after
/// the other.
template <class T>
class coalesced_node final : public rdd_node<T> {
public:
  coalesced_node(rdd_node_ptr<T> parent, size_t num_partitions)
    : parent_(std::move(parent)), n_(num_partitions) {
    // nop
  }

  const char* kind() const noexcept override {
    return "CoalescedRDD";
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    parent_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    auto m = parent_->num_partitions();
    for (auto i = index * m / n_; i < (index + 1) * m / n_; ++i)
      parent_->compute(i, out);
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

private:
  rdd_node_ptr<T> parent_;
  size_t n_;
};

/// Partition `i` is `f(left's partition i, right's partition i)`
/// (Spark's `zipPartitions`, and `zip`): both parents have as many
/// partitions.
template <class L, class R, class Out, class F>
class zipped_node final : public rdd_node<Out> {
public:
  zipped_node(rdd_node_ptr<L> left, rdd_node_ptr<R> right, F f)
    : left_(std::move(left)), right_(std::move(right)), f_(std::move(f)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "ZippedPartitionsRDD2";
  }

  size_t num_partitions() const override {
    return left_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    left_->prepare(runner);
    right_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<Out>::sink out) const override {
    auto xs = left_->materialize(index);
    auto ys = right_->materialize(index);
    for (const auto& z : f_(xs, ys))
      out(z);
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {left_.get(), right_.get()};
  }

private:
  rdd_node_ptr<L> left_;
  rdd_node_ptr<R> right_;
  F f_;
};

/// Spark's `cartesian`: partition `i * n + j` pairs each record of the
/// left's partition `i` with each record of the right's partition `j` (of
/// `n`).
template <class L, class R>
class cartesian_node final : public rdd_node<std::pair<L, R>> {
public:
  cartesian_node(rdd_node_ptr<L> left, rdd_node_ptr<R> right)
    : left_(std::move(left)), right_(std::move(right)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "CartesianRDD";
  }

  size_t num_partitions() const override {
    return left_->num_partitions() * right_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    left_->prepare(runner);
    right_->prepare(runner);
  }

  void compute(size_t index,
               typename rdd_node<std::pair<L, R>>::sink out) const override {
    auto n = right_->num_partitions();
    auto ys = right_->materialize(index % n);
    left_->compute(index / n, [&](const L& x) {
      for (const auto& y : ys)
        out(std::pair<L, R>{x, y});
    });
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {left_.get(), right_.get()};
  }

  bool reads_parents_in_turn() const noexcept override {
    return false;
  }

private:
  rdd_node_ptr<L> left_;
  rdd_node_ptr<R> right_;
};

/// Keeps each partition in memory once a task computed it (Spark's
/// `persist` at MEMORY_ONLY): later tasks and jobs read it instead of
/// computing the lineage again.
template <class T>
class cached_node final : public rdd_node<T> {
public:
  explicit cached_node(rdd_node_ptr<T> parent)
    : parent_(std::move(parent)), slots_(parent_->num_partitions()) {
    // nop
  }

  bool is_cache() const noexcept override {
    return true;
  }

  size_t num_partitions() const override {
    return slots_.size();
  }

  void prepare(task_runner& runner) const override {
    // Once every partition is kept, the lineage's shuffles need not run.
    if (kept_.load() < slots_.size())
      parent_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    for (const auto& x : *get(index))
      out(x);
  }

  std::vector<T> materialize(size_t index) const override {
    return *get(index);
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

  bool holds(size_t index) const override {
    auto& x = slots_[index];
    std::lock_guard<std::mutex> guard{x.mtx};
    return x.records != nullptr;
  }

  /// Keeps `records` as partition `index`, which worker nodes computed for
  /// an action here, unless it is kept already: the next action reads it
  /// here.
  void keep(size_t index, std::shared_ptr<const std::vector<T>> records) const {
    auto& x = slots_[index];
    std::lock_guard<std::mutex> guard{x.mtx};
    if (!x.records) {
      x.records = std::move(records);
      ++kept_;
    }
  }

  /// Drops every kept partition (Spark's `unpersist`): the next task that
  /// reads one computes it again.
  void drop() const {
    for (auto& x : slots_) {
      std::lock_guard<std::mutex> guard{x.mtx};
      if (x.records) {
        x.records = nullptr;
        --kept_;
      }
    }
  }

private:
  struct slot {
    std::mutex mtx;
    std::shared_ptr<const std::vector<T>> records;
  };

  std::shared_ptr<const std::vector<T>> get(size_t index) const {
    auto& x = slots_[index];
    std::lock_guard<std::mutex> guard{x.mtx};
    if (!x.records) {
      x.records = std::make_shared<const std::vector<T>>(
        parent_->materialize(index));
      ++kept_;
    }
    return x.records;
  }

  rdd_node_ptr<T> parent_;
  mutable std::vector<slot> slots_;
  mutable std::atomic<size_t> kept_{0};
};

} // namespace caf_stream::detail
