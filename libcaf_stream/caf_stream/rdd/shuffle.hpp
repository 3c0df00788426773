#pragma once

#include <algorithm>
#include <atomic>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/rdd/shuffle_store.hpp"

namespace caf_stream::detail {

/// Runs a shuffle's map stage once, on the first `prepare`: `init()` sizes
/// the output, then `map_task(i)` runs for every map partition (the runner
/// prepares the shuffle's parents where it runs map tasks on this node). A
/// failed stage runs again, from `init`, on the next `prepare`. A stage
/// that is `skip`ped never runs: its shuffle's partitions come computed
/// (`rdd_node_base::use_reduced`).
class shuffle_stage {
public:
  /// `shuffle`: the node whose map stage this is.
  template <class Init, class F>
  void run_once(task_runner& runner, const rdd_node_base& shuffle,
                size_t num_tasks, Init&& init, F&& map_task) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (done_)
      return;
    init();
    runner.run_map_stage(shuffle, num_tasks, map_task);
    done_ = true;
  }

  /// The stage does not run: `init()` sizes the output, which other nodes
  /// computed. Nothing if the stage ran already.
  template <class Init>
  void skip(Init&& init) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (done_)
      return;
    init();
    done_ = true;
    skipped_ = true;
  }

  /// Throws unless the stage ran here: partition `index` came computed or
  /// not at all (made up from no map output, it would be empty).
  void check_ran(size_t index) const {
    if (skipped_)
      throw stream_error(errc::illegal_state,
                         "partition " + std::to_string(index)
                           + " of a shuffle whose partitions came computed "
                             "with the stage did not come");
  }

private:
  std::mutex mtx_;
  bool done_ = false;
  std::atomic<bool> skipped_{false};
};

/// `run_map_tasks` of a shuffle whose map task `i` makes the buckets
/// `map(i)` of `Output` (a `shuffle_output`).
template <class Output, class Map>
std::vector<std::string> encode_map_tasks(const rdd_node_base& shuffle,
                                          const std::vector<uint32_t>& tasks,
                                          task_runner& runner, Map&& map) {
  if constexpr (Output::serializable) {
    std::vector<std::string> result(tasks.size());
    runner.run(tasks.size(),
               [&](size_t k) { result[k] = Output::encode(map(tasks[k])); });
    return result;
  } else {
    return shuffle.rdd_node_base::run_map_tasks(tasks, runner);
  }
}

/// Spark's ShuffledRDD with an aggregator: hash-partitions `(K, V)` records
/// into `n` partitions, combining values per key on the map side
/// (`create(v)`, `merge_value(c, v)`) and merging the combiners on the reduce
/// side (`merge_combiners(c, std::move(c2))`). Backs reduce_by_key,
/// combine_by_key, group_by_key and count_by_value. The map tasks' buckets
/// wait in the node's shuffle store for the reduce tasks.
template <class K, class V, class C, class Create, class MergeValue,
          class MergeCombiners>
class combine_node final : public rdd_node<std::pair<K, C>> {
public:
  using input = std::pair<K, V>;
  using output = std::pair<K, C>;
  /// A map task's combined record with its key's hash: the reduce side
  /// finds its slot without hashing the key again.
  using hashed = std::pair<output, size_t>;

  combine_node(rdd_node_ptr<input> parent, size_t num_partitions,
               Create create, MergeValue merge_value,
               MergeCombiners merge_combiners)
    : parent_(std::move(parent)),
      n_(num_partitions),
      create_(std::move(create)),
      merge_value_(std::move(merge_value)),
      merge_combiners_(std::move(merge_combiners)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "ShuffledRDD";
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    stage_.run_once(runner, *this, parent_->num_partitions(),
                    [&] { reset(); },
                    [&](size_t i) { map_out_.put(i, map(i)); });
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

  bool is_shuffle() const noexcept override {
    return true;
  }

  bool map_output_serializable() const noexcept override {
    return shuffle_output<hashed>::serializable;
  }

  std::vector<std::string>
  run_map_tasks(const std::vector<uint32_t>& tasks,
                task_runner& runner) const override {
    return encode_map_tasks<shuffle_output<hashed>>(
      *this, tasks, runner, [&](size_t i) { return map(i); });
  }

  void add_map_output(size_t task, const std::string& bytes) const override {
    map_out_.put_bytes(task, bytes);
  }

  bool reduce_serializable() const noexcept override {
    return shuffle_output<hashed>::serializable
           && is_serializable<std::vector<output>>::value;
  }

  std::vector<std::string>
  run_reduce_tasks(const std::vector<uint32_t>& partitions,
                   const std::vector<std::vector<std::string>>& buckets,
                   task_runner& runner) const override {
    if constexpr (shuffle_output<hashed>::serializable
                  && is_serializable<std::vector<output>>::value) {
      std::vector<std::string> result(partitions.size());
      runner.run(partitions.size(), [&](size_t k) {
        scratch_table<K, C> scratch;
        auto& acc = *scratch;
        for (const auto& bytes : buckets.at(k))
          merge(shuffle_output<hashed>::decode_bucket(bytes), acc);
        result[k] = to_bytes(acc.take_entries());
      });
      return result;
    } else {
      return rdd_node_base::run_reduce_tasks(partitions, buckets, runner);
    }
  }

  void add_reduced(size_t index, const std::string& bytes) const override {
    reduced_.put_bytes(index, bytes);
  }

  void use_reduced(size_t index, const std::string& bytes) const override {
    if (!this->takes_reduced())
      rdd_node_base::use_reduced(index, bytes);
    stage_.skip([&] { reset(); });
    reduced_.put_bytes(index, bytes);
  }

  void compute(size_t index,
               typename rdd_node<output>::sink out) const override {
    if (reduced_.emit(index, out))
      return;
    stage_.check_ran(index);
    scratch_table<K, C> scratch;
    auto& acc = *scratch;
    reduce(index, acc);
    for (const auto& kv : acc)
      out(kv);
  }

  std::vector<output> materialize(size_t index) const override {
    if (auto part = reduced_.get(index))
      return *part;
    stage_.check_ran(index);
    scratch_table<K, C> scratch;
    auto& acc = *scratch;
    reduce(index, acc);
    return acc.take_entries();
  }

private:
  // Sizes the map stage's output and forgets the partitions reduced
  // elsewhere.
  void reset() const {
    map_out_.reset(parent_->num_partitions());
    reduced_.reset(n_);
  }

  // The reduce side: merges partition `index` of every map task's output.
  void reduce(size_t index, hash_table<K, C>& acc) const {
    for (auto& bucket : map_out_.buckets(index))
      merge(*bucket, acc);
  }

  // Merges one map task's bucket into `acc`.
  void merge(const std::vector<hashed>& bucket, hash_table<K, C>& acc) const {
    for (auto& entry : bucket) {
      auto& kv = entry.first;
      acc.upsert(
        kv.first, entry.second, [&] { return kv.second; },
        [&](C& c) { merge_combiners_(c, C{kv.second}); });
    }
  }

  // One table for the whole map partition: each record is hashed once, for
  // its slot and its reduce partition.
  std::vector<std::vector<hashed>> map(size_t partition) const {
    scratch_table<K, C> scratch;
    auto& t = *scratch;
    parent_->compute(partition, [&](const input& kv) {
      t.upsert(
        kv.first, hash<K>{}(kv.first), [&] { return create_(kv.second); },
        [&](C& c) { merge_value_(c, kv.second); });
    });
    std::vector<std::vector<hashed>> result(n_);
    for (auto& b : result)
      b.reserve(t.size() / n_ + 1);
    auto& entries = t.entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      auto h = t.hash_at(i);
      result[partition_of_hash(h, n_)].emplace_back(std::move(entries[i]), h);
    }
    return result;
  }

  rdd_node_ptr<input> parent_;
  size_t n_;
  Create create_;
  MergeValue merge_value_;
  MergeCombiners merge_combiners_;
  mutable shuffle_stage stage_;
  mutable shuffle_output<hashed> map_out_;
  mutable reduced_partitions<output> reduced_;
};

/// A shuffle that moves records and combines nothing: `Bucket{p, n}` gives
/// each record of map partition `p`, in order, its partition among `n`;
/// records keep their order within each parent partition. With `consume`,
/// `materialize` moves the records out: for an RDD whose partitions are
/// materialized once (a state stream's input) and never computed again.
template <class T, class Bucket>
class bucketed_node final : public rdd_node<T> {
public:
  bucketed_node(rdd_node_ptr<T> parent, size_t num_partitions,
                bool consume = false)
    : parent_(std::move(parent)), n_(num_partitions), consume_(consume) {
    // nop
  }

  const char* kind() const noexcept override {
    return "ShuffledRDD";
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    stage_.run_once(runner, *this, parent_->num_partitions(),
                    [&] { reset(); },
                    [&](size_t p) { map_out_.put(p, map(p)); });
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

  bool is_shuffle() const noexcept override {
    return true;
  }

  bool map_output_serializable() const noexcept override {
    return shuffle_output<T>::serializable;
  }

  std::vector<std::string>
  run_map_tasks(const std::vector<uint32_t>& tasks,
                task_runner& runner) const override {
    return encode_map_tasks<shuffle_output<T>>(
      *this, tasks, runner, [&](size_t p) { return map(p); });
  }

  void add_map_output(size_t task, const std::string& bytes) const override {
    map_out_.put_bytes(task, bytes);
  }

  // Its reduce only moves records: the driver reads the buckets itself.
  // A later stage's map tasks on a worker node read its partitions.
  bool takes_reduced() const noexcept override {
    return is_serializable<std::vector<T>>::value;
  }

  void use_reduced(size_t index, const std::string& bytes) const override {
    if (!this->takes_reduced())
      rdd_node_base::use_reduced(index, bytes);
    stage_.skip([&] { reset(); });
    reduced_.put_bytes(index, bytes);
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    if (reduced_.emit(index, out))
      return;
    stage_.check_ran(index);
    for (auto& bucket : map_out_.buckets(index))
      for (auto& x : *bucket)
        out(x);
  }

  std::vector<T> materialize(size_t index) const override {
    if (auto part = reduced_.get(index))
      return *part;
    stage_.check_ran(index);
    auto buckets = map_out_.buckets(index);
    size_t n = 0;
    for (auto& bucket : buckets)
      n += bucket->size();
    std::vector<T> result;
    result.reserve(n);
    for (auto& bucket : buckets) {
      auto& xs = *bucket;
      if (!consume_) {
        result.insert(result.end(), xs.begin(), xs.end());
        continue;
      }
      result.insert(result.end(), std::make_move_iterator(xs.begin()),
                    std::make_move_iterator(xs.end()));
      std::vector<T>{}.swap(xs);
    }
    return result;
  }

private:
  // Sizes the map stage's output and forgets the partitions that came
  // computed.
  void reset() const {
    map_out_.reset(parent_->num_partitions());
    reduced_.reset(n_);
  }

  // Map task `p`: the records of parent partition `p`, by bucket.
  std::vector<std::vector<T>> map(size_t p) const {
    std::vector<std::vector<T>> buckets(n_);
    Bucket bucket{p, n_};
    parent_->compute(p, [&](const T& x) { buckets[bucket(x)].push_back(x); });
    return buckets;
  }

  rdd_node_ptr<T> parent_;
  size_t n_;
  bool consume_;
  mutable shuffle_stage stage_;
  mutable shuffle_output<T> map_out_;
  mutable reduced_partitions<T> reduced_;
};

/// Spark's `sortByKey` with its `RangePartitioner`: the map stage sorts
/// every parent partition; `n` key ranges are then picked from a sample of
/// the sorted partitions (about 20 keys per range from each), and partition
/// `i` merges range `i` of every sorted partition. Records with equal keys
/// land in one partition, in the order of the parent's partitions and
/// records. With few distinct keys, some partitions stay empty. A map
/// task's output, in the node's shuffle store, is its sorted run as one
/// bucket; reduce tasks take their key range of each run.
template <class K, class V>
class sorted_node final : public rdd_node<std::pair<K, V>> {
public:
  using record = std::pair<K, V>;

  sorted_node(rdd_node_ptr<record> parent, size_t num_partitions,
              bool ascending)
    : parent_(std::move(parent)), n_(num_partitions), ascending_(ascending) {
    // nop
  }

  const char* kind() const noexcept override {
    return "ShuffledRDD";
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    auto m = parent_->num_partitions();
    auto init = [&] { runs_.reset(m); };
    stage_.run_once(runner, *this, m, init,
                    [&](size_t p) { runs_.put(p, sorted_run(p)); });
    std::lock_guard<std::mutex> guard{bounds_mtx_};
    if (!bounds_picked_) {
      pick_bounds();
      bounds_picked_ = true;
    }
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {parent_.get()};
  }

  bool is_shuffle() const noexcept override {
    return true;
  }

  bool map_output_serializable() const noexcept override {
    return shuffle_output<record>::serializable;
  }

  std::vector<std::string>
  run_map_tasks(const std::vector<uint32_t>& tasks,
                task_runner& runner) const override {
    return encode_map_tasks<shuffle_output<record>>(
      *this, tasks, runner, [&](size_t p) { return sorted_run(p); });
  }

  void add_map_output(size_t task, const std::string& bytes) const override {
    runs_.put_bytes(task, bytes);
  }

  void compute(size_t index,
               typename rdd_node<record>::sink out) const override {
    for (const auto& x : materialize(index))
      out(x);
  }

  std::vector<record> materialize(size_t index) const override {
    std::vector<record> result;
    if (index > bounds_.size())
      return result;
    auto less = by_key();
    for (const auto& sorted : runs_.buckets(0)) {
      const auto& run = *sorted;
      auto first = index == 0 ? run.begin()
                              : std::lower_bound(run.begin(), run.end(),
                                                 bounds_[index - 1], less);
      auto last = index == bounds_.size()
                    ? run.end()
                    : std::lower_bound(first, run.end(), bounds_[index], less);
      auto mid = result.size();
      result.insert(result.end(), first, last);
      // A stable merge: equal keys keep the order of the runs.
      std::inplace_merge(result.begin(),
                         result.begin() + static_cast<std::ptrdiff_t>(mid),
                         result.end(), less);
    }
    return result;
  }

private:
  // Map task `p`: parent partition `p` sorted, as one bucket.
  std::vector<std::vector<record>> sorted_run(size_t p) const {
    std::vector<std::vector<record>> run(1);
    run[0] = parent_->materialize(p);
    std::stable_sort(run[0].begin(), run[0].end(), by_key());
    return run;
  }

  bool before(const K& a, const K& b) const {
    return ascending_ ? a < b : b < a;
  }

  // Orders records by key, and a record against a bound (a key).
  auto by_key() const {
    struct less {
      const sorted_node* self;
      bool operator()(const record& a, const record& b) const {
        return self->before(a.first, b.first);
      }
      bool operator()(const record& a, const K& b) const {
        return self->before(a.first, b);
      }
      bool operator()(const K& a, const record& b) const {
        return self->before(a, b.first);
      }
    };
    return less{this};
  }

  // Spark's `RangePartitioner.determineBounds`: each sampled key stands for
  // the records of its run around it; a bound is set each time the weight
  // seen so far passes another `1 / n` of the total.
  void pick_bounds() const {
    if (n_ <= 1)
      return;
    std::vector<std::pair<K, double>> sample;
    for (const auto& sorted : runs_.buckets(0)) {
      const auto& run = *sorted;
      auto k = std::min(run.size(), 20 * n_);
      for (size_t j = 0; j < k; ++j)
        sample.emplace_back(run[j * run.size() / k].first,
                            static_cast<double>(run.size())
                              / static_cast<double>(k));
    }
    std::stable_sort(sample.begin(), sample.end(),
                     [this](const auto& a, const auto& b) {
                       return before(a.first, b.first);
                     });
    double total = 0;
    for (const auto& x : sample)
      total += x.second;
    auto step = total / static_cast<double>(n_);
    double seen = 0;
    auto target = step;
    for (const auto& [key, weight] : sample) {
      seen += weight;
      if (seen < target || (!bounds_.empty() && !before(bounds_.back(), key)))
        continue;
      bounds_.push_back(key);
      target += step;
      if (bounds_.size() + 1 == n_)
        break;
    }
  }

  rdd_node_ptr<record> parent_;
  size_t n_;
  bool ascending_;
  mutable shuffle_stage stage_;
  // One bucket per map task: its sorted run.
  mutable shuffle_output<record> runs_;
  mutable std::mutex bounds_mtx_;
  mutable bool bounds_picked_ = false;
  // Partition `i` holds the keys from `bounds_[i - 1]` up to `bounds_[i]`.
  mutable std::vector<K> bounds_;
};

/// Spark's `HashPartitioner`: a record's partition is its key's.
struct key_bucket {
  size_t n;

  key_bucket(size_t, size_t num_partitions) : n(num_partitions) {
    // nop
  }

  template <class T>
  size_t operator()(const T& kv) const {
    return partition_of(kv.first, n);
  }
};

/// Round-robin, each map partition starting at its own index.
struct round_robin_bucket {
  size_t n;
  size_t next;

  round_robin_bucket(size_t map_partition, size_t num_partitions)
    : n(num_partitions), next(map_partition % num_partitions) {
    // nop
  }

  template <class T>
  size_t operator()(const T&) {
    auto result = next;
    next = next + 1 == n ? 0 : next + 1;
    return result;
  }
};

/// Spark's `partitionBy` with a `HashPartitioner`: moves every `(K, V)`
/// record to the partition of its key. Backs the state streams, whose
/// holders see every record.
template <class K, class V>
using partition_by_node = bucketed_node<std::pair<K, V>, key_bucket>;

/// Spark's `repartition(n)`: spreads the records of every parent partition
/// round-robin over `n` partitions.
template <class T>
using repartition_node = bucketed_node<T, round_robin_bucket>;

} // namespace caf_stream::detail
