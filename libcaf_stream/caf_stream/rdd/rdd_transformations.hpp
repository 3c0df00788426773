#pragma once

// Transformations of `rdd<T>` that rdd.hpp declares and includes this file
// for at its end: `parallelize`, the narrow transformations, and Spark's set
// operations, sampling, coalescing, zipping, indexing and piping, built on
// the narrow nodes, the shuffles and `cogroup`.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/piped_process.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

// -- creation ----------------------------------------------------------------

template <class T>
rdd<T> parallelize(std::vector<T> data, size_t num_partitions) {
  if (num_partitions == 0)
    throw std::invalid_argument("parallelize: the number of partitions must "
                                "be positive");
  using part = std::shared_ptr<const std::vector<T>>;
  std::vector<part> parts;
  parts.reserve(num_partitions);
  auto size = data.size();
  auto bound = [&](size_t i) {
    return data.begin() + static_cast<std::ptrdiff_t>(i * size
                                                      / num_partitions);
  };
  for (size_t i = 0; i < num_partitions; ++i)
    parts.push_back(std::make_shared<const std::vector<T>>(
      std::make_move_iterator(bound(i)),
      std::make_move_iterator(bound(i + 1))));
  return rdd<T>{std::make_shared<detail::collection_node<T>>(std::move(parts))};
}

template <class T>
void rdd<T>::check_partitions(size_t n) {
  if (n == 0)
    throw std::invalid_argument("the number of partitions must be positive");
}

// -- persistence -------------------------------------------------------------

template <class T>
rdd<T> rdd<T>::cache() const {
  if (dynamic_cast<const detail::cached_node<T>*>(node_.get()) != nullptr)
    return *this;
  return derived<T>(std::make_shared<detail::cached_node<T>>(node_));
}

template <class T>
rdd<T> rdd<T>::persist() const {
  return cache();
}

template <class T>
rdd<T> rdd<T>::unpersist() const {
  if (auto kept = dynamic_cast<const detail::cached_node<T>*>(node_.get()))
    kept->drop();
  return *this;
}

// -- narrow transformations --------------------------------------------------

template <class T>
template <class Out, class Step>
rdd<Out> rdd<T>::narrow(Step step) const {
  using node = detail::narrow_node<T, Out, Step>;
  return derived<Out>(std::make_shared<node>(node_, std::move(step)));
}

template <class T>
template <class F>
auto rdd<T>::map(F f) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "map expects f(const T&) -> U");
  using out = std::decay_t<std::invoke_result_t<F, const T&>>;
  return narrow<out>([f](const T& x, auto& sink) { sink(f(x)); });
}

template <class T>
template <class F>
auto rdd<T>::flat_map(F f) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "flat_map expects f(const T&) -> a container of U "
                "(std::vector<U>, std::optional<U> is not accepted)");
  using container = std::invoke_result_t<F, const T&>;
  using out = detail::element_t<container>;
  return narrow<out>([f](const T& x, auto& sink) {
    for (const auto& y : f(x))
      sink(y);
  });
}

template <class T>
template <class F>
rdd<T> rdd<T>::filter(F f) const {
  static_assert(std::is_invocable_r_v<bool, F, const T&>,
                "filter expects f(const T&) -> bool");
  return narrow<T>([f](const T& x, auto& sink) {
    if (f(x))
      sink(x);
  });
}

template <class T>
template <class F>
auto rdd<T>::map_partitions(F f) const {
  static_assert(std::is_invocable_v<F, const std::vector<T>&>,
                "map_partitions expects f(const std::vector<T>&) -> a "
                "container of U");
  using out = detail::element_t<
    std::invoke_result_t<F, const std::vector<T>&>>;
  using node = detail::partition_node<T, out, F>;
  return derived<out>(std::make_shared<node>(node_, std::move(f)));
}

template <class T>
rdd<std::vector<T>> rdd<T>::glom() const {
  return map_partitions(
    [](const std::vector<T>& xs) { return std::vector<std::vector<T>>{xs}; });
}

template <class T>
rdd<T> rdd<T>::union_with(const rdd<T>& other) const {
  using node = detail::union_node<T>;
  return rdd<T>{std::make_shared<node>(
                  std::vector<detail::rdd_node_ptr<T>>{node_, other.node_}),
                context_ ? context_ : other.context_};
}

template <class T>
rdd<T> rdd<T>::repartition(size_t num_partitions) const {
  check_partitions(num_partitions);
  using node = detail::repartition_node<T>;
  return derived<T>(std::make_shared<node>(node_, num_partitions));
}

template <class T>
rdd<T> rdd<T>::distinct(size_t num_partitions) const {
  return map([](const T& x) { return std::pair<T, bool>{x, true}; })
    .reduce_by_key([](bool a, bool) { return a; }, num_partitions)
    .map([](const std::pair<T, bool>& x) { return x.first; });
}

template <class T>
template <class F>
rdd<T> rdd<T>::sort_by(F f, bool ascending, size_t num_partitions) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "sort_by expects f(const T&) -> a key with operator<");
  using k = std::decay_t<std::invoke_result_t<F, const T&>>;
  return map([f](const T& x) { return std::pair<k, T>{f(x), x}; })
    .sort_by_key(ascending, num_partitions)
    .map([](const std::pair<k, T>& x) { return x.second; });
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

template <class T>
template <class U, class F>
auto rdd<T>::zip_partitions(const rdd<U>& other, F f) const {
  static_assert(std::is_invocable_v<F, const std::vector<T>&,
                                    const std::vector<U>&>,
                "zip_partitions expects f(const std::vector<T>&, const "
                "std::vector<U>&) -> a container of W");
  detail::check_same_partitions("zip_partitions", partitions(),
                                other.partitions());
  using out = detail::element_t<
    std::invoke_result_t<F, const std::vector<T>&, const std::vector<U>&>>;
  using node = detail::zipped_node<T, U, out, F>;
  return rdd<out>{std::make_shared<node>(node_, other.node(), std::move(f)),
                  context_ ? context_ : other.context()};
}

template <class T>
template <class U>
rdd<std::pair<T, U>> rdd<T>::zip(const rdd<U>& other) const {
  detail::check_same_partitions("zip", partitions(), other.partitions());
  return zip_partitions(other, [](const std::vector<T>& xs,
                                  const std::vector<U>& ys) {
    if (xs.size() != ys.size())
      detail::throw_zip_sizes(xs.size(), ys.size());
    std::vector<std::pair<T, U>> result;
    result.reserve(xs.size());
    for (size_t i = 0; i < xs.size(); ++i)
      result.emplace_back(xs[i], ys[i]);
    return result;
  });
}

template <class T>
template <class U>
rdd<std::pair<T, U>> rdd<T>::cartesian(const rdd<U>& other) const {
  using node = detail::cartesian_node<T, U>;
  return rdd<std::pair<T, U>>{std::make_shared<node>(node_, other.node()),
                              context_ ? context_ : other.context()};
}

template <class T>
rdd<std::string>
rdd<T>::pipe(const std::string& command,
             const std::map<std::string, std::string>& env) const {
  return pipe(detail::split_command(command), env);
}

template <class T>
rdd<std::string>
rdd<T>::pipe(std::vector<std::string> command,
             const std::map<std::string, std::string>& env) const {
  if (command.empty())
    throw std::invalid_argument("pipe: the command is empty");
  return map_partitions([command = std::move(command),
                         env](const std::vector<T>& xs) {
    std::vector<std::string> lines;
    lines.reserve(xs.size());
    for (const auto& x : xs)
      lines.push_back(to_text(x));
    return detail::pipe_through(command, env, lines);
  });
}

} // namespace caf_stream
