#pragma once

// The joins and the other transformations of `rdd<T>` that rdd.hpp declares
// and includes this file for at its end: Spark's pair and set operations,
// sampling, coalescing and indexing, built on the narrow nodes, the
// shuffles and `cogroup`.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/rdd/rdd.hpp"

namespace caf_stream {

// -- joins --------------------------------------------------------------------

template <class T>
template <class Other>
auto rdd<T>::join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  using W = detail::value_t<typename Other::value_type>;
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using out = std::pair<k, std::pair<v, W>>;
  return cogroup(other, num_partitions)
    .template narrow<out>([](const auto& g, auto& sink) {
      for (const auto& x : g.second.first)
        for (const auto& y : g.second.second)
          sink(out{g.first, {x, y}});
    });
}

template <class T>
template <class Other>
auto rdd<T>::left_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  using W = detail::value_t<typename Other::value_type>;
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using out = std::pair<k, std::pair<v, std::optional<W>>>;
  return cogroup(other, num_partitions)
    .template narrow<out>([](const auto& g, auto& sink) {
      for (const auto& x : g.second.first) {
        if (g.second.second.empty())
          sink(out{g.first, {x, std::nullopt}});
        for (const auto& y : g.second.second)
          sink(out{g.first, {x, y}});
      }
    });
}

template <class T>
template <class Other>
auto rdd<T>::right_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  using W = detail::value_t<typename Other::value_type>;
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using out = std::pair<k, std::pair<std::optional<v>, W>>;
  return cogroup(other, num_partitions)
    .template narrow<out>([](const auto& g, auto& sink) {
      for (const auto& y : g.second.second) {
        if (g.second.first.empty())
          sink(out{g.first, {std::nullopt, y}});
        for (const auto& x : g.second.first)
          sink(out{g.first, {x, y}});
      }
    });
}

template <class T>
template <class Other>
auto rdd<T>::full_outer_join(const Other& other, size_t num_partitions) const {
  require_pairs<T>();
  require_same_key<Other>();
  using W = detail::value_t<typename Other::value_type>;
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  using out = std::pair<k, std::pair<std::optional<v>, std::optional<W>>>;
  return cogroup(other, num_partitions)
    .template narrow<out>([](const auto& g, auto& sink) {
      const auto& xs = g.second.first;
      const auto& ys = g.second.second;
      if (xs.empty())
        for (const auto& y : ys)
          sink(out{g.first, {std::nullopt, y}});
      else if (ys.empty())
        for (const auto& x : xs)
          sink(out{g.first, {x, std::nullopt}});
      else
        for (const auto& x : xs)
          for (const auto& y : ys)
            sink(out{g.first, {x, y}});
    });
}

// -- by-key transformations ---------------------------------------------------

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

// -- element transformations -------------------------------------------------

template <class T>
template <class F>
auto rdd<T>::map_partitions_with_index(F f) const {
  static_assert(std::is_invocable_v<F, size_t, const std::vector<T>&>,
                "map_partitions_with_index expects f(size_t index, const "
                "std::vector<T>&) -> a container of U");
  using out = detail::element_t<
    std::invoke_result_t<F, size_t, const std::vector<T>&>>;
  using node = detail::partition_node<T, out, F>;
  return derived<out>(std::make_shared<node>(node_, std::move(f)));
}

template <class T>
template <class F>
auto rdd<T>::key_by(F f) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "key_by expects f(const T&) -> K");
  using k = std::decay_t<std::invoke_result_t<F, const T&>>;
  return map([f](const T& x) { return std::pair<k, T>{f(x), x}; });
}

template <class T>
template <class F>
auto rdd<T>::group_by(F f, size_t num_partitions) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "group_by expects f(const T&) -> K");
  return key_by(std::move(f)).group_by_key(num_partitions);
}

template <class T>
rdd<T> rdd<T>::coalesce(size_t num_partitions, bool shuffle) const {
  check_partitions(num_partitions);
  if (shuffle)
    return repartition(num_partitions);
  if (num_partitions >= partitions())
    return *this;
  using node = detail::coalesced_node<T>;
  return derived<T>(std::make_shared<node>(node_, num_partitions));
}

template <class T>
rdd<T> rdd<T>::sampled_range(double lower, double upper,
                             uint64_t seed) const {
  return map_partitions_with_index(
    [lower, upper, seed](size_t index, const std::vector<T>& xs) {
      auto gen = detail::partition_generator(seed, index);
      std::uniform_real_distribution<double> draw{0.0, 1.0};
      std::vector<T> result;
      for (const auto& x : xs) {
        auto u = draw(gen);
        if (u >= lower && u < upper)
          result.push_back(x);
      }
      return result;
    });
}

template <class T>
rdd<T> rdd<T>::sample(bool with_replacement, double fraction,
                      uint64_t seed) const {
  detail::check_sample_fraction(with_replacement, fraction);
  if (!with_replacement)
    return sampled_range(0.0, fraction, seed);
  return map_partitions_with_index(
    [fraction, seed](size_t index, const std::vector<T>& xs) {
      std::vector<T> result;
      if (fraction == 0)
        return result;
      auto gen = detail::partition_generator(seed, index);
      std::poisson_distribution<int> copies{fraction};
      for (const auto& x : xs)
        for (auto k = copies(gen); k > 0; --k)
          result.push_back(x);
      return result;
    });
}

template <class T>
rdd<T> rdd<T>::sample(bool with_replacement, double fraction) const {
  return sample(with_replacement, fraction, detail::random_seed());
}

template <class T>
std::vector<rdd<T>> rdd<T>::random_split(const std::vector<double>& weights,
                                         uint64_t seed) const {
  std::vector<rdd<T>> result;
  double lower = 0;
  for (auto upper : detail::split_bounds(weights)) {
    result.push_back(sampled_range(lower, upper, seed));
    lower = upper;
  }
  return result;
}

template <class T>
std::vector<rdd<T>>
rdd<T>::random_split(const std::vector<double>& weights) const {
  return random_split(weights, detail::random_seed());
}

template <class T>
rdd<T> rdd<T>::intersection(const rdd<T>& other,
                            size_t num_partitions) const {
  auto tag = [](const T& x) { return std::pair<T, bool>{x, true}; };
  return map(tag)
    .cogroup(other.map(tag), num_partitions)
    .template narrow<T>([](const auto& g, auto& sink) {
      if (!g.second.first.empty() && !g.second.second.empty())
        sink(g.first);
    });
}

template <class T>
rdd<T> rdd<T>::subtract(const rdd<T>& other, size_t num_partitions) const {
  auto tag = [](const T& x) { return std::pair<T, bool>{x, true}; };
  return map(tag).subtract_by_key(other.map(tag), num_partitions).keys();
}

template <class T>
rdd<std::pair<T, int64_t>> rdd<T>::zip_with_index() const {
  auto counts = partition_counts();
  auto starts = std::make_shared<std::vector<int64_t>>(counts.size());
  int64_t next = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    (*starts)[i] = next;
    next += counts[i];
  }
  return map_partitions_with_index(
    [starts](size_t index, const std::vector<T>& xs) {
      std::vector<std::pair<T, int64_t>> result;
      result.reserve(xs.size());
      auto id = (*starts)[index];
      for (const auto& x : xs)
        result.emplace_back(x, id++);
      return result;
    });
}

template <class T>
rdd<std::pair<T, int64_t>> rdd<T>::zip_with_unique_id() const {
  auto n = static_cast<int64_t>(partitions());
  return map_partitions_with_index(
    [n](size_t index, const std::vector<T>& xs) {
      std::vector<std::pair<T, int64_t>> result;
      result.reserve(xs.size());
      auto id = static_cast<int64_t>(index);
      for (const auto& x : xs) {
        result.emplace_back(x, id);
        id += n;
      }
      return result;
    });
}

} // namespace caf_stream
