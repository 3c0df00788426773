#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/rdd_operations.hpp"
#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/rdd/cogroup.hpp"
#include "caf_stream/rdd/rdd_approximate.hpp"
#include "caf_stream/rdd/rdd_context.hpp"
#include "caf_stream/rdd/rdd_identity.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/rdd/shuffle.hpp"
#include "caf_stream/rdd/stat_counter.hpp"

namespace caf_stream {

template <class T>
class rdd;

template <class T>
class local_elements;

/// Splits `data` into `num_partitions` slices as Spark's `parallelize` does:
/// slice i holds elements `[i * size / n, (i + 1) * size / n)`.
template <class T>
rdd<T> parallelize(std::vector<T> data, size_t num_partitions);

/// The immutable, partitioned collection of one batch (Spark's RDD). Cheap to
/// copy: it shares its lineage. Transformations are lazy; narrow ones fuse
/// into one task per partition, by-key ones and sorts shuffle. Actions
/// (`collect`, `count`, `reduce`, `take`, `top`, `foreach_partition`, ...)
/// run the tasks on the runner of the RDD's context (the operator workers,
/// for an RDD of a running graph called inside a job), inline elsewhere;
/// each action computes the lineage again unless the RDD was cached
/// (`cache`). `id`, `name`, `set_name` and `to_debug_string` are in
/// `detail::rdd_identity`, the approximate actions (`count_approx`, ...)
/// in `detail::rdd_approximate`.
template <class T>
class rdd : public detail::rdd_identity<rdd<T>>,
            public detail::rdd_approximate<rdd<T>, T> {
public:
  using value_type = T;

  /// An RDD with no partitions.
  rdd() : node_(std::make_shared<detail::collection_node<T>>(
            std::vector<std::shared_ptr<const std::vector<T>>>{})) {
    // nop
  }

  explicit rdd(detail::rdd_node_ptr<T> node,
               rdd_context_ptr context = nullptr) noexcept
    : node_(std::move(node)), context_(std::move(context)) {
    // nop
  }

  // -- properties -------------------------------------------------------------

  /// The number of partitions.
  size_t partitions() const {
    return node_->num_partitions();
  }

  /// Spark's `getNumPartitions`: `partitions()`.
  size_t get_num_partitions() const {
    return partitions();
  }

  /// The lineage node (for operators built on top of the RDD API).
  const detail::rdd_node_ptr<T>& node() const noexcept {
    return node_;
  }

  /// The context whose runner runs the actions (null: they run inline).
  /// RDDs derived from this one share it.
  const rdd_context_ptr& context() const noexcept {
    return context_;
  }

  /// This RDD, with its actions run by `context` (for the graph, which binds
  /// the RDDs it generates).
  rdd<T> with_context(rdd_context_ptr context) const {
    return rdd<T>{node_, std::move(context)};
  }

  /// The runner for an action called on the calling thread.
  task_runner& runner() const noexcept {
    return rdd_context::runner_of(context_.get());
  }

  // -- persistence (defined in rdd_transformations.hpp) -----------------------

  /// An RDD with the same records that keeps each partition in memory once
  /// computed (Spark's `cache`): actions and RDDs built on the result
  /// compute this RDD's lineage once. Use the returned RDD; this one stays
  /// as it is (so a Spark habit, `x.cache();` on a line of its own, keeps
  /// nothing: the compiler warns).
  [[nodiscard]] rdd<T> cache() const;

  /// Spark's `persist()`, which keeps partitions in memory: `cache`.
  [[nodiscard]] rdd<T> persist() const;

  /// Spark's `unpersist`: this RDD, whose kept partitions (if `cache`
  /// made it) are dropped; the next action computes them again.
  rdd<T> unpersist() const;

  // -- narrow transformations (defined in rdd_transformations.hpp) ----------

  /// Applies `f(const T&) -> U` to every element.
  template <class F>
  auto map(F f) const;

  /// Applies `f(const T&) -> container of U` and flattens the results.
  template <class F>
  auto flat_map(F f) const;

  /// Keeps the elements for which `f(const T&) -> bool` holds.
  template <class F>
  rdd<T> filter(F f) const;

  /// Applies `f(const std::vector<T>&) -> container of U` to every partition.
  template <class F>
  auto map_partitions(F f) const;

  /// Turns every partition into one element holding its records.
  rdd<std::vector<T>> glom() const;

  /// The partitions of this RDD followed by those of `other` (Spark's union).
  rdd<T> union_with(const rdd<T>& other) const;

  /// Spreads the elements evenly over `num_partitions` partitions (shuffle).
  rdd<T> repartition(size_t num_partitions) const;

  /// Each distinct element once (a shuffle, as Spark's `distinct`).
  rdd<T> distinct(size_t num_partitions = 0) const;

  /// Sorts the elements by `f(const T&) -> key` (a key with `<`), in
  /// `num_partitions` ranges of keys (0: as many as this RDD has): Spark's
  /// `sortBy`. Partition `i`'s keys all come before partition `i + 1`'s;
  /// equal keys keep their order.
  template <class F>
  rdd<T> sort_by(F f, bool ascending = true, size_t num_partitions = 0) const;

  // -- by-key transformations (pair_rdd_functions.hpp, T = std::pair<K, V>) --

  /// Merges the values of each key with the associative `f(V, V) -> V`.
  /// `num_partitions` 0 keeps this RDD's partition count.
  template <class F>
  auto reduce_by_key(F f, size_t num_partitions = 0) const;

  /// Spark's combineByKey: `create(V) -> C`, `merge_value(C, V) -> C`,
  /// `merge_combiners(C, C) -> C`.
  template <class Create, class MergeValue, class MergeCombiners>
  auto combine_by_key(Create create, MergeValue merge_value,
                      MergeCombiners merge_combiners,
                      size_t num_partitions = 0) const;

  /// Gathers the values of each key, in record order.
  template <class U = T>
  auto group_by_key(size_t num_partitions = 0) const;

  /// Spark's `partitionBy` with a `HashPartitioner`: moves every record to
  /// the partition of its key (where the by-key operations put the key),
  /// keeping the records' order within each parent partition.
  /// `num_partitions` 0 keeps this RDD's partition count.
  template <class U = T>
  rdd<T> partition_by(size_t num_partitions = 0) const;

  /// The keys of the records.
  template <class U = T>
  auto keys() const;

  /// The values of the records.
  template <class U = T>
  auto values() const;

  /// Sorts the records by key (a key with `<`), in `num_partitions` ranges
  /// of keys (0: as many as this RDD has): Spark's `sortByKey`. Partition
  /// `i`'s keys all come before partition `i + 1`'s; records with equal
  /// keys keep their order.
  template <class U = T>
  rdd<T> sort_by_key(bool ascending = true, size_t num_partitions = 0) const;

  /// Applies `f(const V&) -> W` to every value, keeping the keys.
  template <class F>
  auto map_values(F f) const;

  /// Applies `f(const V&) -> container of W` and pairs each W with the key.
  template <class F>
  auto flat_map_values(F f) const;

  /// For each key of either RDD: its values here and its values in `other`.
  template <class Other>
  auto cogroup(const Other& other, size_t num_partitions = 0) const;

  /// Inner join on the key: `(k, (v, w))` for every matching pair.
  template <class Other>
  auto join(const Other& other, size_t num_partitions = 0) const;

  /// Left outer join: every value here, with `std::nullopt` where `other`
  /// has no value for the key.
  template <class Other>
  auto left_outer_join(const Other& other, size_t num_partitions = 0) const;

  /// Right outer join: every value of `other`, with `std::nullopt` where this
  /// RDD has no value for the key.
  template <class Other>
  auto right_outer_join(const Other& other, size_t num_partitions = 0) const;

  /// Full outer join: every key of either side, `std::nullopt` where a side
  /// has no value.
  template <class Other>
  auto full_outer_join(const Other& other, size_t num_partitions = 0) const;

  /// Spark's `aggregateByKey`: folds each key's values with
  /// `seq_op(U, const V&) -> U` from `zero` (within each map task), then
  /// merges the keys' results with `comb_op(U, U) -> U`.
  template <class U, class SeqOp, class CombOp>
  auto aggregate_by_key(U zero, SeqOp seq_op, CombOp comb_op,
                        size_t num_partitions = 0) const;

  /// Spark's `foldByKey`: merges each key's values with `f(V, V) -> V`,
  /// starting from `zero` (neutral for `f`) in each map task.
  template <class F, class U = T>
  auto fold_by_key(detail::value_t<U> zero, F f,
                   size_t num_partitions = 0) const;

  /// Spark's `subtractByKey`: the records whose key `other` (an RDD of
  /// pairs with the same key type) does not have; `num_partitions` 0 keeps
  /// this RDD's partition count.
  template <class Other>
  auto subtract_by_key(const Other& other, size_t num_partitions = 0) const;

  /// Spark's `repartitionAndSortWithinPartitions` with a hash partitioner:
  /// `partition_by(num_partitions)`, each partition then sorted by key
  /// (equal keys keep their order).
  template <class U = T>
  rdd<T> repartition_and_sort_within_partitions(size_t num_partitions = 0,
                                                bool ascending = true) const;

  /// Spark's `groupWith`: `cogroup(other)`.
  template <class Other>
  auto group_with(const Other& other) const;

  /// Spark's `filterByRange`: the records whose key is in [lower, upper].
  template <class U = T>
  rdd<T> filter_by_range(const detail::key_t<U>& lower,
                         const detail::key_t<U>& upper) const;

  /// Spark's `sampleByKey`: `sample` with the fraction of each record's key
  /// in `fractions`; a key that has none fails the action.
  template <class U = T>
  rdd<T> sample_by_key(bool with_replacement,
                       const std::map<detail::key_t<U>, double>& fractions,
                       uint64_t seed = detail::random_seed()) const;

  /// Spark's `sampleByKeyExact`: exactly `ceil(n * fraction)` of each
  /// key's n records, uniformly; its jobs run at the call, as Spark's.
  template <class U = T>
  rdd<T>
  sample_by_key_exact(bool with_replacement,
                      const std::map<detail::key_t<U>, double>& fractions,
                      uint64_t seed = detail::random_seed()) const;

  /// Spark's `countApproxDistinctByKey`: each key with the number of its
  /// distinct values, counted as `count_approx_distinct` counts.
  template <class U = T>
  auto count_approx_distinct_by_key(double relative_sd = 0.05) const;

  // -- more transformations (also in rdd_transformations.hpp) ---------------

  /// Applies `f(size_t index, const std::vector<T>&) -> container of U` to
  /// every partition, with the partition's index (Spark's
  /// `mapPartitionsWithIndex`).
  template <class F>
  auto map_partitions_with_index(F f) const;

  /// Pairs every element with its key `f(const T&) -> K` (Spark's `keyBy`).
  template <class F>
  auto key_by(F f) const;

  /// Groups the elements by `f(const T&) -> K`: `(k, elements)` (Spark's
  /// `groupBy`).
  template <class F>
  auto group_by(F f, size_t num_partitions = 0) const;

  /// Spark's `coalesce`: `num_partitions` partitions, each reading adjacent
  /// partitions of this RDD without a shuffle (this RDD itself where it has
  /// no more); with `shuffle`, `repartition(num_partitions)`.
  rdd<T> coalesce(size_t num_partitions, bool shuffle = false) const;

  /// Spark's `sample`: each element once with probability `fraction`
  /// (without replacement, `fraction` in [0, 1]), or a Poisson-distributed
  /// number of times with mean `fraction` (with replacement). The same
  /// `seed` picks the same elements each time the RDD is computed.
  rdd<T> sample(bool with_replacement, double fraction, uint64_t seed) const;

  /// `sample` with a random seed.
  rdd<T> sample(bool with_replacement, double fraction) const;

  /// Spark's `randomSplit`: RDDs that share the elements out at random in
  /// proportion to `weights` (nonnegative, normalized to their sum); each
  /// element lands in exactly one.
  std::vector<rdd<T>> random_split(const std::vector<double>& weights,
                                   uint64_t seed) const;

  /// `random_split` with a random seed.
  std::vector<rdd<T>> random_split(const std::vector<double>& weights) const;

  /// The distinct elements that both RDDs hold (Spark's `intersection`).
  rdd<T> intersection(const rdd<T>& other, size_t num_partitions = 0) const;

  /// The elements that `other` does not hold, with their repetitions here
  /// (Spark's `subtract`); `num_partitions` 0 keeps this RDD's count.
  rdd<T> subtract(const rdd<T>& other, size_t num_partitions = 0) const;

  /// Each element with its index: partition by partition, in order (Spark's
  /// `zipWithIndex`, which counts each partition's elements first).
  rdd<std::pair<T, int64_t>> zip_with_index() const;

  /// Each element with a unique id: the `k`th of partition `i` of `n` gets
  /// `k * n + i` (Spark's `zipWithUniqueId`, which runs no job).
  rdd<std::pair<T, int64_t>> zip_with_unique_id() const;

  /// Spark's `zipPartitions`: `f(const std::vector<T>&, const
  /// std::vector<U>&) -> container of W` over the partitions with the same
  /// index here and in `other`, which must have as many (else
  /// `std::invalid_argument`).
  template <class U, class F>
  auto zip_partitions(const rdd<U>& other, F f) const;

  /// Spark's `zip`: the `k`th element of each partition with the `k`th of
  /// `other`'s; as many partitions (else `std::invalid_argument`) and
  /// elements in each (else the action fails).
  template <class U>
  rdd<std::pair<T, U>> zip(const rdd<U>& other) const;

  /// Spark's `pipe`: runs `command` (split at whitespace, found on the
  /// PATH, no shell; `env` added to its environment) once per partition,
  /// with the elements on its standard input, a line each in `print`'s
  /// form; its output lines are the partition. A program that cannot start
  /// or exits with a status other than 0 fails the action.
  rdd<std::string> pipe(const std::string& command,
                        const std::map<std::string, std::string>& env
                        = {}) const;

  /// `pipe` with the program and its arguments given one by one.
  rdd<std::string> pipe(std::vector<std::string> command,
                        const std::map<std::string, std::string>& env
                        = {}) const;

  /// Spark's `cartesian`: each element paired with each element of
  /// `other`; partition `i * n + j` holds partition `i`'s elements with
  /// `other`'s partition `j`'s (of `n`).
  template <class U>
  rdd<std::pair<T, U>> cartesian(const rdd<U>& other) const;

  // -- actions (defined in rdd_actions.hpp) ---------------------------------

  /// All elements, partition by partition.
  std::vector<T> collect() const;

  /// The number of elements.
  int64_t count() const;

  /// Spark's `aggregate`: folds each partition with `seq_op(U, const T&) -> U`
  /// from `zero` in the partition's task, then the partitions' results with
  /// `comb_op(U, U) -> U`.
  template <class U, class SeqOp, class CombOp>
  U aggregate(U zero, SeqOp seq_op, CombOp comb_op) const;

  /// Spark's `reduce`: combines the elements with the associative and
  /// commutative `f(T, T) -> T`, within each partition, then across them.
  /// Throws `stream_error` on an empty RDD.
  template <class F>
  T reduce(F f) const;

  /// Spark's `fold`: like `reduce`, starting each partition and the final
  /// combination from `zero` (which must be neutral for `f`).
  template <class F>
  T fold(T zero, F f) const;

  /// The first element; throws `stream_error` on an empty RDD.
  T first() const;

  /// The `num` smallest elements by `less` (default `<`), smallest first
  /// (Spark's `takeOrdered`). Each task keeps its `num` smallest only.
  template <class Less = std::less<>>
  std::vector<T> take_ordered(size_t num, Less less = Less{}) const;

  /// The `num` largest elements by `less` (default `<`), largest first
  /// (Spark's `top`).
  template <class Less = std::less<>>
  std::vector<T> top(size_t num, Less less = Less{}) const;

  /// The number of records of each key (Spark's `countByKey`).
  template <class U = T>
  auto count_by_key() const;

  /// The number of occurrences of each distinct element, as a map (Spark's
  /// `countByValue`, an action on an RDD; `dstream::count_by_value` is a
  /// stream of pairs).
  auto count_by_value() const;

  /// The first `num` elements, scanning as few partitions as it can (one,
  /// then four times as many each round, as Spark's `take`).
  std::vector<T> take(size_t num) const;

  /// Returns whether the RDD has no element.
  bool is_empty() const;

  /// Spark's `toLocalIterator`: the elements, partition by partition, each
  /// computed (one job) when the iteration reaches it, so that one
  /// partition at a time is held here.
  local_elements<T> to_local_iterator() const;

  /// Spark's `countApproxDistinct`: the number of distinct elements, from
  /// a HyperLogLog sketch per partition with a relative standard deviation
  /// of about `relative_sd` (> 0.000017); exact below about 0.001.
  int64_t count_approx_distinct(double relative_sd = 0.05) const;

  /// Calls `f(index, records)` or `f(records)` once per partition, in the
  /// partition's task.
  template <class F>
  void foreach_partition(F f) const;

  /// Calls `f(const T&)` for each element, in its partition's task.
  template <class F>
  void foreach(F f) const;

  /// Spark's `saveAsTextFile`: writes the directory `path`, a file
  /// `part-NNNNN` per partition with an element per line in `print`'s text
  /// form, and `_SUCCESS`; it appears whole. Throws `stream_error` if
  /// `path` exists (Spark overwrites no output directory).
  void save_as_text_file(const std::string& path) const;

  /// Spark's `saveAsObjectFile`: `save_as_text_file` with each partition
  /// in Boost.Serialization form (`streaming_context::object_file`).
  void save_as_object_file(const std::string& path) const;

  /// The largest element by `less` (default `<`); throws `stream_error` on
  /// an empty RDD.
  template <class Less = std::less<>>
  T max(Less less = Less{}) const;

  /// The smallest element by `less` (default `<`); throws `stream_error`
  /// on an empty RDD.
  template <class Less = std::less<>>
  T min(Less less = Less{}) const;

  /// Spark's `treeReduce`: `reduce`, whose result it equals; the partitions'
  /// results are combined on the calling side, as at depth 1. Throws
  /// `std::invalid_argument` for a depth below 1.
  template <class F>
  T tree_reduce(F f, int depth = 2) const;

  /// Spark's `treeAggregate`: `aggregate`, as `tree_reduce` is `reduce`.
  template <class U, class SeqOp, class CombOp>
  U tree_aggregate(U zero, SeqOp seq_op, CombOp comb_op, int depth = 2) const;

  /// The records as a map from key to value (Spark's `collectAsMap`); of
  /// several records with one key, the last in partition order wins.
  template <class U = T>
  auto collect_as_map() const;

  /// The values of the records with key `key` (Spark's `lookup`).
  template <class U = T>
  std::vector<detail::value_t<U>> lookup(const detail::key_t<U>& key) const;

  /// Spark's `reduceByKeyLocally`: `reduce_by_key(f)`, as a map here.
  template <class F>
  auto reduce_by_key_locally(F f) const;

  /// Spark's `takeSample`: `num` elements picked at random (each at most
  /// once without replacement: all of them, shuffled, if there are no
  /// more), sampling the RDD as often as it takes.
  std::vector<T> take_sample(bool with_replacement, size_t num,
                             uint64_t seed) const;

  /// `take_sample` with a random seed.
  std::vector<T> take_sample(bool with_replacement, size_t num) const;

  // -- numeric actions (T a number; Spark's DoubleRDDFunctions) ---------------

  /// The sum of the elements, in their own type (0 for none).
  T sum() const;

  /// The count, mean, variance, maximum and minimum of the elements, in one
  /// pass (Spark's `stats`).
  stat_counter stats() const;

  /// The elements' mean (`stats().mean()`: 0 for none, as Spark's).
  double mean() const;

  /// The population variance (NaN for none).
  double variance() const;

  /// The sample variance (NaN for fewer than two).
  double sample_variance() const;

  /// The population standard deviation (NaN for none).
  double stdev() const;

  /// The sample standard deviation (NaN for fewer than two).
  double sample_stdev() const;

  /// How many elements fall into each bucket between the increasing
  /// `buckets` (at least two bounds): `[b0, b1)`, `[b1, b2)`, ..., the last
  /// one closed, `[bn-1, bn]`; elements outside and NaN count nowhere.
  /// Throws `std::invalid_argument` for bounds that do not increase.
  std::vector<int64_t> histogram(const std::vector<double>& buckets) const;

  /// `bucket_count` buckets of equal width from the smallest element to
  /// the largest, and how many elements fall into each (one bucket, both
  /// bounds the value, if all are equal). Throws `stream_error` on an empty
  /// RDD or one that holds an infinity or NaN, as Spark's.
  std::pair<std::vector<double>, std::vector<int64_t>>
  histogram(size_t bucket_count) const;

  /// Builds a narrow transformation from a step `step(x, sink)`.
  template <class Out, class Step>
  rdd<Out> narrow(Step step) const;

private:
  friend class local_elements<T>;

  static void check_partitions(size_t n);

  // The records of partition `index`, computed in a job of their own.
  std::vector<T> partition_records(size_t index) const;

  // How many elements fall into each of `buckets`, checked.
  std::vector<int64_t> count_in_buckets(std::vector<double> buckets) const;

  // `reduce`, whose error on an empty RDD names `action`.
  template <class F>
  T reduce_named(F f, const char* action) const;

  // The number of records of each partition (counted on the worker nodes
  // that keep their input where they can).
  std::vector<int64_t> partition_counts() const;

  // The elements whose draw in [0, 1) (a generator per partition, seeded
  // from `seed` and its index) is in [lower, upper) (`sample`, `split`).
  rdd<T> sampled_range(double lower, double upper, uint64_t seed) const;

  // Refuse, at compile time, an RDD of other records than pairs, and a
  // join's or cogroup's other side with another key type
  // (pair_rdd_functions.hpp).
  template <class U>
  static constexpr void require_pairs();

  template <class Other>
  static constexpr void require_same_key();

  // `combine_by_key` into `C` in place, in `num_partitions` partitions (0:
  // as many as this RDD has).
  template <class C, class Create, class MergeValue, class MergeCombiners>
  auto combine_in_place(Create create, MergeValue merge_value,
                        MergeCombiners merge_combiners,
                        size_t num_partitions) const;

  // An RDD of `node` in this RDD's context.
  template <class U>
  rdd<U> derived(detail::rdd_node_ptr<U> node) const {
    return rdd<U>{std::move(node), context_};
  }

  // The ids of this RDD's partitions, 0 to n - 1.
  std::vector<uint32_t> all_partitions() const;

  // `f(node, i)` for every partition `i` of this RDD: a result stage.
  template <class R, class F>
  std::vector<R> run_all(F f) const;

  // Partitions `partitions` as the worker nodes that keep their input
  // computed them (`task_runner::run_result_stage`), in order, which a
  // cached RDD keeps; none if the action computes them here.
  std::optional<std::vector<typename detail::collection_node<T>::partition>>
  computed_elsewhere(task_runner& runner,
                     const std::vector<uint32_t>& partitions) const;

  // The number of records of each partition as the worker nodes that keep
  // their input counted them (`result_form::count`); none if `count`
  // counts here.
  std::optional<std::vector<int64_t>> counted_elsewhere() const;

  // `f(node, i)` for every partition `i` of `node`, on `runner`.
  template <class R, class F>
  static std::vector<R> run_on(const detail::rdd_node<T>& node, F& f,
                               task_runner& runner);

  detail::rdd_node_ptr<T> node_;
  rdd_context_ptr context_;
};

} // namespace caf_stream

#include "caf_stream/rdd/local_elements.hpp"
#include "caf_stream/rdd/pair_rdd_functions.hpp"
#include "caf_stream/rdd/rdd_actions.hpp"
#include "caf_stream/rdd/rdd_transformations.hpp"
