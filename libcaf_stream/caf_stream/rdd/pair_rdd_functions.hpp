#pragma once

// The by-key transformations of `rdd<T>` for T = std::pair<K, V> (Spark's
// PairRDDFunctions), which rdd.hpp declares and includes this file for at
// its end: the aggregations by key, the partitioning and sorting by key,
// the operations on values, `cogroup` and the joins built on it, and
// Spark's other by-key operations (sampling, ranges, distinct counts).

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/exact_sampling.hpp"
#include "caf_stream/detail/hyper_log_log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

namespace detail {

/// Each distinct element of `x` with its number of occurrences, in
/// `num_partitions` partitions (0: as many as `x` has): what
/// `rdd::count_by_value` collects and `dstream::count_by_value` makes of
/// each batch.
template <class T>
rdd<std::pair<T, int64_t>> value_counts(const rdd<T>& x,
                                        size_t num_partitions = 0) {
  return x.map([](const T& y) { return std::pair<T, int64_t>{y, 1}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; },
                   num_partitions);
}

/// The error of `action` (`sample_by_key` or `sample_by_key_exact`) for
/// key `k`, which has no fraction: named where it has `operator<<`, as
/// Spark's "key not found: k" names it.
template <class K>
std::string missing_fraction(const K& k, const char* action) {
  if constexpr (has_ostream_operator<K>::value)
    return std::string{action} + ": the RDD's key " + to_text(k)
           + " has no fraction";
  else
    return std::string{action} + ": a key of the RDD has no fraction";
}

// -- sample_by_key_exact (the arithmetic is in exact_sampling.hpp) -----------

/// The error of a sample of `sample_by_key_exact` for key `k`, which its
/// first job did not count: the lineage gave other records when computed
/// again.
template <class K>
stream_error unseen_key(const K& k) {
  std::string key = "a key";
  if constexpr (has_ostream_operator<K>::value)
    key = "the key " + to_text(k);
  return stream_error(errc::job_failure,
                      "sample_by_key_exact: " + key
                        + " was not in the RDD when it was counted (its "
                          "lineage gives other records each time)");
}

/// Each partition's records of each key of `x` (a job), refusing a key
/// `fractions` has none for.
template <class T, class K>
std::vector<std::map<K, int64_t>>
key_counts(const rdd<T>& x, const std::map<K, double>& fractions) {
  return x
    .map_partitions_with_index([fractions](size_t, const std::vector<T>& xs) {
      std::map<K, int64_t> counts;
      for (const auto& kv : xs) {
        if (fractions.count(kv.first) == 0)
          throw stream_error(errc::job_failure,
                             missing_fraction(kv.first,
                                              "sample_by_key_exact"));
        ++counts[kv.first];
      }
      return std::vector<std::map<K, int64_t>>{std::move(counts)};
    })
    .collect();
}

/// Calls `f(record, rank)` for each record of partition `index` of a
/// sample without replacement, in order: the same draws each time.
template <class T, class F>
void for_each_rank(size_t index, const std::vector<T>& xs, uint64_t seed,
                   F f) {
  auto gen = partition_generator(seed, index);
  std::uniform_real_distribution<double> draw{0.0, 1.0};
  uint64_t position = 0;
  for (const auto& kv : xs)
    f(kv, sample_rank{draw(gen), static_cast<uint32_t>(index), position++});
}

/// The rank below which each key's `sizes` records of least rank in `x`
/// lie, from the draws in each key's band (a job); keys whose band missed
/// it are left out.
template <class T, class K>
std::map<K, sample_rank>
rank_thresholds(const rdd<T>& x, const std::map<K, sample_band>& bands,
                const std::map<K, int64_t>& sizes, uint64_t seed) {
  struct draws {
    std::map<K, int64_t> below;
    std::map<K, std::vector<sample_rank>> in_band;
  };
  auto parts = x
    .map_partitions_with_index(
      [bands, seed](size_t index, const std::vector<T>& xs) {
        draws result;
        for_each_rank(index, xs, seed, [&](const T& kv, sample_rank r) {
          auto i = bands.find(kv.first);
          if (i == bands.end())
            throw unseen_key(kv.first);
          const auto& band = i->second;
          if (r.draw < band.low)
            ++result.below[kv.first];
          else if (r.draw < band.high)
            result.in_band[kv.first].push_back(r);
        });
        return std::vector<draws>{std::move(result)};
      })
    .collect();
  std::map<K, sample_rank> result;
  for (const auto& [key, band] : bands) {
    int64_t below = 0;
    std::vector<sample_rank> in_band;
    for (auto& part : parts) {
      if (auto i = part.below.find(key); i != part.below.end())
        below += i->second;
      if (auto i = part.in_band.find(key); i != part.in_band.end())
        in_band.insert(in_band.end(), i->second.begin(), i->second.end());
    }
    auto threshold = exact_sample_threshold(sizes.at(key), below,
                                            std::move(in_band), band);
    if (threshold)
      result.emplace(key, *threshold);
  }
  return result;
}

/// `sample_by_key_exact` without replacement: each key's `sizes` records
/// of least rank.
template <class T, class K>
rdd<T> least_ranks(const rdd<T>& x, const std::map<K, int64_t>& totals,
                   const std::map<K, int64_t>& sizes, uint64_t seed) {
  std::map<K, sample_band> bands;
  for (const auto& [key, n] : totals)
    bands[key] = exact_sample_band(n, sizes.at(key));
  auto thresholds = rank_thresholds(x, bands, sizes, seed);
  if (thresholds.size() < sizes.size()) {
    // A band missed (about once in 1e9): those keys' draws, all of them.
    for (auto& [key, band] : bands)
      band = thresholds.count(key) != 0 ? sample_band{0, 0}
                                        : sample_band{0, 1};
    for (auto& [key, rank] : rank_thresholds(x, bands, sizes, seed))
      thresholds.emplace(key, rank);
  }
  return x.map_partitions_with_index(
    [thresholds, seed](size_t index, const std::vector<T>& xs) {
      std::vector<T> result;
      for_each_rank(index, xs, seed, [&](const T& kv, sample_rank r) {
        auto i = thresholds.find(kv.first);
        if (i == thresholds.end())
          throw unseen_key(kv.first);
        if (r < i->second)
          result.push_back(kv);
      });
      return result;
    });
}

/// `sample_by_key_exact` with replacement: each key's `sizes` draws split
/// between the partitions (`counts`) and then their records.
template <class T, class K>
rdd<T> split_by_key(const rdd<T>& x,
                    const std::vector<std::map<K, int64_t>>& counts,
                    const std::map<K, int64_t>& sizes, uint64_t seed) {
  // Each partition's draws and records of each key. The split draws from
  // the generator of a partition index no partition has.
  using left = std::map<K, std::pair<int64_t, int64_t>>;
  std::vector<left> plan(counts.size());
  auto gen = partition_generator(seed, counts.size());
  for (const auto& [key, s] : sizes) {
    std::vector<int64_t> records(counts.size(), 0);
    for (size_t i = 0; i < counts.size(); ++i)
      if (auto j = counts[i].find(key); j != counts[i].end())
        records[i] = j->second;
    auto shares = split_draws(s, records, gen);
    for (size_t i = 0; i < counts.size(); ++i)
      if (records[i] > 0)
        plan[i][key] = {shares[i], records[i]};
  }
  return x.map_partitions_with_index(
    [plan, seed](size_t index, const std::vector<T>& xs) {
      auto rest = index < plan.size() ? plan[index] : left{};
      auto gen = partition_generator(seed, index);
      std::vector<T> result;
      for (const auto& kv : xs) {
        auto i = rest.find(kv.first);
        if (i == rest.end())
          throw unseen_key(kv.first);
        auto& [draws, records] = i->second;
        for (auto k = next_copies(draws, records, gen); k > 0; --k)
          result.push_back(kv);
      }
      return result;
    });
}

// -- joins (Spark's, a flat map of `cogroup`) --------------------------------

/// Emits the records of one key's joined values, `g` of `cogroup`, as
/// Spark's joins make them: each left value with each right one, in the
/// left values' order. With `KeepLeft`, left values without a right one
/// come with `std::nullopt` (left and full outer joins); with `KeepRight`,
/// right values without a left one (right and full outer joins).
template <class Out, bool KeepLeft, bool KeepRight, class Group, class Sink>
void emit_joined(const Group& g, Sink& sink) {
  const auto& xs = g.second.first;
  const auto& ys = g.second.second;
  if constexpr (KeepRight)
    if (xs.empty()) {
      for (const auto& y : ys)
        sink(Out{g.first, {std::nullopt, y}});
      return;
    }
  if constexpr (KeepLeft)
    if (ys.empty()) {
      for (const auto& x : xs)
        sink(Out{g.first, {x, std::nullopt}});
      return;
    }
  for (const auto& x : xs)
    for (const auto& y : ys)
      sink(Out{g.first, {x, y}});
}

/// `x` joined with `other` by key (`emit_joined`), in `n` partitions.
template <bool KeepLeft, bool KeepRight, class T, class Other>
auto join_cogrouped(const rdd<T>& x, const Other& other, size_t n) {
  using v = value_t<T>;
  using w = value_t<typename Other::value_type>;
  using left = std::conditional_t<KeepRight, std::optional<v>, v>;
  using right = std::conditional_t<KeepLeft, std::optional<w>, w>;
  using out = std::pair<key_t<T>, std::pair<left, right>>;
  return x.cogroup(other, n).template narrow<out>(
    [](const auto& g, auto& sink) {
      emit_joined<out, KeepLeft, KeepRight>(g, sink);
    });
}

} // namespace detail

// -- aggregations, partitioning and values ------------------------------------

template <class T>
template <class U>
constexpr void rdd<T>::require_pairs() {
  static_assert(detail::is_pair_v<U>,
                "by-key operations need an RDD of std::pair<K, V>");
}

template <class T>
template <class Other>
constexpr void rdd<T>::require_same_key() {
  static_assert(detail::is_pair_v<typename Other::value_type>,
                "the other RDD of a join or cogroup must hold "
                "std::pair<K, W>");
  static_assert(std::is_same_v<detail::key_t<typename Other::value_type>,
                               detail::key_t<T>>,
                "both RDDs of a join or cogroup must have the same key type");
}

template <class T>
template <class C, class Create, class MergeValue, class MergeCombiners>
auto rdd<T>::combine_in_place(Create create, MergeValue merge_value,
                              MergeCombiners merge_combiners,
                              size_t num_partitions) const {
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using node = detail::combine_node<k, v, C, Create, MergeValue,
                                    MergeCombiners>;
  auto n = num_partitions != 0 ? num_partitions
                               : std::max(partitions(), size_t{1});
  return derived<std::pair<k, C>>(std::make_shared<node>(
    node_, n, std::move(create), std::move(merge_value),
    std::move(merge_combiners)));
}

template <class T>
template <class F>
auto rdd<T>::reduce_by_key(F f, size_t num_partitions) const {
  require_pairs<T>();
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_r_v<v, F, const v&, const v&>,
                "reduce_by_key expects f(const V&, const V&) -> V");
  return combine_in_place<v>(
    [](const v& x) { return x; },
    [f](v& acc, const v& x) { acc = f(acc, x); },
    [f](v& acc, v&& x) { acc = f(acc, x); }, num_partitions);
}

template <class T>
template <class Create, class MergeValue, class MergeCombiners>
auto rdd<T>::combine_by_key(Create create, MergeValue merge_value,
                            MergeCombiners merge_combiners,
                            size_t num_partitions) const {
  require_pairs<T>();
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_v<Create, const v&>,
                "combine_by_key expects create(const V&) -> C");
  using c = std::decay_t<std::invoke_result_t<Create, const v&>>;
  static_assert(std::is_invocable_r_v<c, MergeValue, c, const v&>,
                "combine_by_key expects merge_value(C, const V&) -> C");
  static_assert(std::is_invocable_r_v<c, MergeCombiners, c, c>,
                "combine_by_key expects merge_combiners(C, C) -> C");
  return combine_in_place<c>(
    std::move(create),
    [merge_value](c& acc, const v& x) { acc = merge_value(std::move(acc), x); },
    [merge_combiners](c& acc, c&& x) {
      acc = merge_combiners(std::move(acc), std::move(x));
    },
    num_partitions);
}

template <class T>
template <class U>
auto rdd<T>::group_by_key(size_t num_partitions) const {
  require_pairs<U>();
  using v = detail::value_t<U>;
  using c = std::vector<v>;
  return combine_in_place<c>(
    [](const v& x) { return c{x}; },
    [](c& acc, const v& x) { acc.push_back(x); },
    [](c& acc, c&& xs) {
      acc.insert(acc.end(), std::make_move_iterator(xs.begin()),
                 std::make_move_iterator(xs.end()));
    },
    num_partitions);
}

template <class T>
template <class U>
rdd<T> rdd<T>::partition_by(size_t num_partitions) const {
  require_pairs<U>();
  using node = detail::partition_by_node<detail::key_t<U>,
                                         detail::value_t<U>>;
  auto n = num_partitions != 0 ? num_partitions
                               : std::max(partitions(), size_t{1});
  return derived<T>(std::make_shared<node>(node_, n));
}

template <class T>
template <class U>
auto rdd<T>::keys() const {
  require_pairs<U>();
  return map([](const T& kv) { return kv.first; });
}

template <class T>
template <class U>
auto rdd<T>::values() const {
  require_pairs<U>();
  return map([](const T& kv) { return kv.second; });
}

template <class T>
template <class U>
rdd<T> rdd<T>::sort_by_key(bool ascending, size_t num_partitions) const {
  require_pairs<U>();
  using node = detail::sorted_node<detail::key_t<U>, detail::value_t<U>>;
  auto n = num_partitions != 0 ? num_partitions : partitions();
  return derived<T>(std::make_shared<node>(node_, n, ascending));
}

template <class T>
template <class F>
auto rdd<T>::map_values(F f) const {
  require_pairs<T>();
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_v<F, const v&>,
                "map_values expects f(const V&) -> W");
  using w = std::decay_t<std::invoke_result_t<F, const v&>>;
  return narrow<std::pair<k, w>>([f](const T& kv, auto& sink) {
    sink(std::pair<k, w>{kv.first, f(kv.second)});
  });
}

template <class T>
template <class F>
auto rdd<T>::flat_map_values(F f) const {
  require_pairs<T>();
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_v<F, const v&>,
                "flat_map_values expects f(const V&) -> a container of W");
  using w = detail::element_t<std::invoke_result_t<F, const v&>>;
  return narrow<std::pair<k, w>>([f](const T& kv, auto& sink) {
    for (const auto& y : f(kv.second))
      sink(std::pair<k, w>{kv.first, y});
  });
}

template <class T>
template <class Other>
auto rdd<T>::cogroup(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using W = detail::value_t<typename Other::value_type>;
  using node = detail::cogroup_node<k, v, W>;
  auto n = num_partitions != 0 ? num_partitions
                               : std::max({partitions(), other.partitions(),
                                           size_t{1}});
  using out = typename node::output;
  return rdd<out>{std::make_shared<node>(node_, other.node(), n),
                  context_ ? context_ : other.context()};
}

// -- joins --------------------------------------------------------------------

template <class T>
template <class Other>
auto rdd<T>::join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  return detail::join_cogrouped<false, false>(*this, other, num_partitions);
}

template <class T>
template <class Other>
auto rdd<T>::left_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  return detail::join_cogrouped<true, false>(*this, other, num_partitions);
}

template <class T>
template <class Other>
auto rdd<T>::right_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  return detail::join_cogrouped<false, true>(*this, other, num_partitions);
}

template <class T>
template <class Other>
auto rdd<T>::full_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  return detail::join_cogrouped<true, true>(*this, other, num_partitions);
}

// -- Spark's other by-key operations -----------------------------------------

template <class T>
template <class U, class SeqOp, class CombOp>
auto rdd<T>::aggregate_by_key(U zero, SeqOp seq_op, CombOp comb_op,
                              size_t num_partitions) const {
  require_pairs<T>();
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_r_v<U, SeqOp, U, const v&>,
                "aggregate_by_key expects seq_op(U, const V&) -> U");
  static_assert(std::is_invocable_r_v<U, CombOp, U, U>,
                "aggregate_by_key expects comb_op(U, U) -> U");
  return combine_in_place<U>(
    [zero, seq_op](const v& x) { return seq_op(zero, x); },
    [seq_op](U& acc, const v& x) { acc = seq_op(std::move(acc), x); },
    [comb_op](U& acc, U&& x) { acc = comb_op(std::move(acc), std::move(x)); },
    num_partitions);
}

template <class T>
template <class F, class U>
auto rdd<T>::fold_by_key(detail::value_t<U> zero, F f,
                         size_t num_partitions) const {
  using v = detail::value_t<U>;
  static_assert(std::is_invocable_r_v<v, F, const v&, const v&>,
                "fold_by_key expects f(const V&, const V&) -> V");
  auto g = [f](v acc, const v& x) -> v { return f(acc, x); };
  return aggregate_by_key(std::move(zero), g, g, num_partitions);
}

template <class T>
template <class Other>
auto rdd<T>::subtract_by_key(const Other& other,
                             size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  auto n = num_partitions != 0 ? num_partitions
                               : std::max(partitions(), size_t{1});
  return cogroup(other, n).template narrow<T>([](const auto& g, auto& sink) {
    if (g.second.second.empty())
      for (const auto& x : g.second.first)
        sink(T{g.first, x});
  });
}

template <class T>
template <class U>
rdd<T>
rdd<T>::repartition_and_sort_within_partitions(size_t num_partitions,
                                               bool ascending) const {
  require_pairs<U>();
  return partition_by(num_partitions)
    .map_partitions([ascending](const std::vector<T>& xs) {
      auto result = xs;
      std::stable_sort(result.begin(), result.end(),
                       [ascending](const T& a, const T& b) {
                         return ascending ? a.first < b.first
                                          : b.first < a.first;
                       });
      return result;
    });
}

template <class T>
template <class Other>
auto rdd<T>::group_with(const Other& other) const {
  return cogroup(other);
}

template <class T>
template <class U>
rdd<T> rdd<T>::filter_by_range(const detail::key_t<U>& lower,
                               const detail::key_t<U>& upper) const {
  require_pairs<U>();
  return filter([lower, upper](const T& kv) {
    return !(kv.first < lower) && !(upper < kv.first);
  });
}

template <class T>
template <class U>
rdd<T>
rdd<T>::sample_by_key(bool with_replacement,
                      const std::map<detail::key_t<U>, double>& fractions,
                      uint64_t seed) const {
  require_pairs<U>();
  for (const auto& [key, fraction] : fractions)
    detail::check_sample_fraction(with_replacement, fraction,
                                  "sample_by_key");
  return map_partitions_with_index(
    [with_replacement, fractions, seed](size_t index,
                                        const std::vector<T>& xs) {
      auto gen = detail::partition_generator(seed, index);
      std::uniform_real_distribution<double> draw{0.0, 1.0};
      std::vector<T> result;
      for (const auto& kv : xs) {
        auto i = fractions.find(kv.first);
        if (i == fractions.end())
          throw stream_error(errc::job_failure,
                             detail::missing_fraction(kv.first,
                                                      "sample_by_key"));
        if (!with_replacement) {
          if (draw(gen) < i->second)
            result.push_back(kv);
          continue;
        }
        if (i->second == 0)
          continue;
        std::poisson_distribution<int> copies{i->second};
        for (auto k = copies(gen); k > 0; --k)
          result.push_back(kv);
      }
      return result;
    });
}

template <class T>
template <class U>
rdd<T> rdd<T>::sample_by_key_exact(
  bool with_replacement, const std::map<detail::key_t<U>, double>& fractions,
  uint64_t seed) const {
  require_pairs<U>();
  for (const auto& [key, fraction] : fractions)
    detail::check_sample_fraction(with_replacement, fraction,
                                  "sample_by_key_exact");
  using k = detail::key_t<T>;
  auto counts = detail::key_counts(*this, fractions);
  std::map<k, int64_t> totals;
  for (const auto& part : counts)
    for (const auto& [key, n] : part)
      totals[key] += n;
  std::map<k, int64_t> sizes;
  for (const auto& [key, n] : totals)
    sizes[key] = detail::exact_sample_size(n, fractions.at(key));
  if (with_replacement)
    return detail::split_by_key(*this, counts, sizes, seed);
  return detail::least_ranks(*this, totals, sizes, seed);
}

template <class T>
template <class U>
auto rdd<T>::count_approx_distinct_by_key(double relative_sd) const {
  require_pairs<U>();
  using v = detail::value_t<U>;
  using sketch = detail::hyper_log_log;
  auto p = sketch::precision_for(relative_sd);
  if (p > sketch::max_precision)
    return detail::value_counts(distinct().keys());
  return combine_in_place<sketch>(
           [p](const v& x) {
             sketch result{p};
             result.add(hash<v>{}(x));
             return result;
           },
           [](sketch& acc, const v& x) { acc.add(hash<v>{}(x)); },
           [](sketch& acc, sketch&& x) { acc.merge(x); }, 0)
    .map_values([](const sketch& x) { return x.estimate(); });
}

} // namespace caf_stream
