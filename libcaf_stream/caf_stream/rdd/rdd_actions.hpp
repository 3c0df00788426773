#pragma once

// The actions of `rdd<T>` (declared in rdd.hpp, which includes this file
// at its end): they run the RDD's tasks, on the worker nodes where those
// keep the input, and bring the results back.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf_stream/detail/hyper_log_log.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

namespace detail {

/// Throws the `stream_error` of an action that needs an element ("reduce:
/// empty collection", as Spark's).
[[noreturn]] void throw_empty_collection(const char* action);

/// Throws the `stream_error` of partition `index`, which a worker node
/// computed for a result stage, whose records do not decode (`why`).
[[noreturn]] void throw_malformed_partition(size_t index, const char* why);

/// Writes each partition of `x` into `out` as `part-NNNNN`, an element per
/// line in `print`'s text form, in the partition's task; then commits it.
template <class T>
void save_text(const rdd<T>& x, output_dir& out) {
  x.foreach_partition([&out](size_t index, const std::vector<T>& part) {
    std::vector<std::string> lines;
    lines.reserve(part.size());
    for (const auto& y : part)
      lines.push_back(to_text(y));
    out.write_lines(index, lines);
  });
  out.commit();
}

/// `save_text` with each partition in Boost.Serialization form.
template <class T>
void save_objects(const rdd<T>& x, output_dir& out) {
  x.foreach_partition([&out](size_t index, const std::vector<T>& part) {
    out.write_bytes(index, to_bytes(part));
  });
  out.commit();
}

} // namespace detail

// -- result stages on the worker nodes --------------------------------------

template <class T>
std::vector<uint32_t> rdd<T>::all_partitions() const {
  std::vector<uint32_t> result(node_->num_partitions());
  for (uint32_t i = 0; i < result.size(); ++i)
    result[i] = i;
  return result;
}

template <class T>
template <class R, class F>
std::vector<R> rdd<T>::run_all(F f) const {
  auto& runner = rdd_context::job_runner_of(context_.get());
  if (auto parts = computed_elsewhere(runner, all_partitions()))
    return run_on<R>(detail::collection_node<T>{std::move(*parts)}, f, runner);
  node_->prepare(runner);
  return run_on<R>(*node_, f, runner);
}

template <class T>
template <class R, class F>
std::vector<R> rdd<T>::run_on(const detail::rdd_node<T>& node, F& f,
                              task_runner& runner) {
  std::vector<R> results(node.num_partitions());
  runner.run(results.size(), [&](size_t i) { results[i] = f(node, i); });
  return results;
}

template <class T>
std::optional<std::vector<typename detail::collection_node<T>::partition>>
rdd<T>::computed_elsewhere(task_runner& runner,
                           const std::vector<uint32_t>& partitions) const {
  if constexpr (detail::is_serializable<T>::value) {
    auto bytes = runner.run_result_stage(*node_, partitions,
                                         result_form::records);
    if (!bytes)
      return std::nullopt;
    std::vector<typename detail::collection_node<T>::partition> result(
      bytes->size());
    runner.run(result.size(), [&](size_t i) {
      auto records = std::make_shared<std::vector<T>>();
      try {
        detail::from_bytes((*bytes)[i], *records);
      } catch (const std::exception& e) {
        detail::throw_malformed_partition(partitions[i], e.what());
      }
      result[i] = std::move(records);
    });
    if (const auto* cached
        = dynamic_cast<const detail::cached_node<T>*>(node_.get()))
      for (size_t i = 0; i < result.size(); ++i)
        cached->keep(partitions[i], result[i]);
    return result;
  } else {
    return std::nullopt;
  }
}

template <class T>
std::optional<std::vector<int64_t>> rdd<T>::counted_elsewhere() const {
  auto& runner = rdd_context::job_runner_of(context_.get());
  auto bytes = runner.run_result_stage(*node_, all_partitions(),
                                       result_form::count);
  if (!bytes)
    return std::nullopt;
  std::vector<int64_t> result;
  for (uint32_t i = 0; i < bytes->size(); ++i) {
    try {
      result.push_back(detail::count_of_bytes((*bytes)[i]));
    } catch (const std::exception& e) {
      detail::throw_malformed_partition(i, e.what());
    }
  }
  return result;
}

// -- actions ----------------------------------------------------------------

template <class T>
std::vector<T> rdd<T>::collect() const {
  auto parts = run_all<std::vector<T>>(
    [](const detail::rdd_node<T>& n, size_t i) { return n.materialize(i); });
  std::vector<T> result;
  for (auto& part : parts)
    result.insert(result.end(), std::make_move_iterator(part.begin()),
                  std::make_move_iterator(part.end()));
  return result;
}

template <class T>
std::vector<int64_t> rdd<T>::partition_counts() const {
  if (auto counts = counted_elsewhere())
    return std::move(*counts);
  return run_all<int64_t>([](const detail::rdd_node<T>& n, size_t i) {
    return n.count_records(i);
  });
}

template <class T>
int64_t rdd<T>::count() const {
  int64_t total = 0;
  for (auto c : partition_counts())
    total += c;
  return total;
}

template <class T>
template <class U, class SeqOp, class CombOp>
U rdd<T>::aggregate(U zero, SeqOp seq_op, CombOp comb_op) const {
  static_assert(std::is_invocable_r_v<U, SeqOp, U, const T&>,
                "aggregate expects seq_op(U, const T&) -> U");
  static_assert(std::is_invocable_r_v<U, CombOp, U, U>,
                "aggregate expects comb_op(U, U) -> U");
  auto parts = run_all<U>([&](const detail::rdd_node<T>& n, size_t i) {
    U acc = zero;
    n.compute(i, [&](const T& x) { acc = seq_op(std::move(acc), x); });
    return acc;
  });
  for (auto& part : parts)
    zero = comb_op(std::move(zero), std::move(part));
  return zero;
}

template <class T>
template <class F>
T rdd<T>::reduce(F f) const {
  static_assert(std::is_invocable_r_v<T, F, const T&, const T&>,
                "reduce expects f(const T&, const T&) -> T");
  return reduce_named(std::move(f), "reduce");
}

template <class T>
template <class F>
T rdd<T>::reduce_named(F f, const char* action) const {
  auto parts = run_all<std::optional<T>>(
    [&](const detail::rdd_node<T>& n, size_t i) {
      std::optional<T> acc;
      n.compute(i, [&](const T& x) {
        if (acc)
          acc = f(*acc, x);
        else
          acc = x;
      });
      return acc;
    });
  std::optional<T> result;
  for (auto& part : parts)
    if (part)
      result = result ? f(*result, *part) : std::move(*part);
  if (!result)
    detail::throw_empty_collection(action);
  return std::move(*result);
}

template <class T>
template <class F>
T rdd<T>::fold(T zero, F f) const {
  static_assert(std::is_invocable_r_v<T, F, const T&, const T&>,
                "fold expects f(const T&, const T&) -> T");
  auto g = [&f](T acc, const T& x) { return f(acc, x); };
  return aggregate(std::move(zero), g, g);
}

template <class T>
T rdd<T>::first() const {
  auto xs = take(1);
  if (xs.empty())
    detail::throw_empty_collection("first");
  return std::move(xs.front());
}

template <class T>
template <class Less>
std::vector<T> rdd<T>::take_ordered(size_t num, Less less) const {
  if (num == 0)
    return {};
  auto parts = run_all<std::vector<T>>(
    [&](const detail::rdd_node<T>& n, size_t i) {
      // A heap with the largest of the `num` smallest on top.
      std::vector<T> heap;
      n.compute(i, [&](const T& x) {
        if (heap.size() < num) {
          heap.push_back(x);
          std::push_heap(heap.begin(), heap.end(), less);
        } else if (less(x, heap.front())) {
          std::pop_heap(heap.begin(), heap.end(), less);
          heap.back() = x;
          std::push_heap(heap.begin(), heap.end(), less);
        }
      });
      return heap;
    });
  std::vector<T> result;
  for (auto& part : parts)
    result.insert(result.end(), std::make_move_iterator(part.begin()),
                  std::make_move_iterator(part.end()));
  std::stable_sort(result.begin(), result.end(), less);
  if (result.size() > num)
    result.erase(result.begin() + static_cast<std::ptrdiff_t>(num),
                 result.end());
  return result;
}

template <class T>
template <class Less>
std::vector<T> rdd<T>::top(size_t num, Less less) const {
  return take_ordered(num, [less](const T& a, const T& b) {
    return less(b, a);
  });
}

template <class T>
auto rdd<T>::count_by_value() const {
  std::unordered_map<T, int64_t, hash<T>> result;
  for (auto& [x, n] : detail::value_counts(*this).collect())
    result.emplace(std::move(x), n);
  return result;
}

template <class T>
template <class F>
auto rdd<T>::reduce_by_key_locally(F f) const {
  require_pairs<T>();
  using k = detail::key_t<T>;
  using v = detail::value_t<T>;
  static_assert(std::is_invocable_r_v<v, F, const v&, const v&>,
                "reduce_by_key_locally expects f(const V&, const V&) -> V");
  using table = std::unordered_map<k, v, hash<k>>;
  auto put = [f](table& acc, const k& key, const v& x) {
    auto [i, added] = acc.try_emplace(key, x);
    if (!added)
      i->second = f(i->second, x);
  };
  return aggregate(
    table{},
    [put](table acc, const T& kv) {
      put(acc, kv.first, kv.second);
      return acc;
    },
    [put](table acc, table other) {
      for (const auto& [key, x] : other)
        put(acc, key, x);
      return acc;
    });
}

template <class T>
template <class U>
auto rdd<T>::count_by_key() const {
  require_pairs<U>();
  return keys().count_by_value();
}

template <class T>
std::vector<T> rdd<T>::take(size_t num) const {
  std::vector<T> result;
  if (num == 0)
    return result;
  auto& runner = rdd_context::job_runner_of(context_.get());
  auto total = node_->num_partitions();
  size_t scanned = 0;
  size_t step = 1;
  while (result.size() < num && scanned < total) {
    auto n = std::min(step, total - scanned);
    auto want = num - result.size();
    std::vector<uint32_t> next(n);
    for (size_t i = 0; i < n; ++i)
      next[i] = static_cast<uint32_t>(scanned + i);
    // Only the partitions scanned are computed on the worker nodes that
    // keep their input, or here once their blocks were fetched.
    if (auto computed = computed_elsewhere(runner, next)) {
      for (const auto& part : *computed)
        for (size_t i = 0; i < part->size() && result.size() < num; ++i)
          result.push_back((*part)[i]);
    } else {
      node_->prepare(runner);
      std::vector<std::vector<T>> parts(n);
      runner.run(n, [&](size_t i) {
        node_->compute(scanned + i, [&](const T& x) {
          if (parts[i].size() < want)
            parts[i].push_back(x);
        });
      });
      for (auto& part : parts)
        for (auto& x : part)
          if (result.size() < num)
            result.push_back(std::move(x));
    }
    scanned += n;
    step *= 4;
  }
  return result;
}

template <class T>
bool rdd<T>::is_empty() const {
  return partitions() == 0 || take(1).empty();
}

template <class T>
template <class F>
void rdd<T>::foreach_partition(F f) const {
  constexpr bool with_index
    = std::is_invocable_v<F, size_t, const std::vector<T>&>;
  static_assert(with_index || std::is_invocable_v<F, const std::vector<T>&>,
                "foreach_partition expects f(const std::vector<T>&) or "
                "f(size_t index, const std::vector<T>&)");
  run_all<bool>([&f](const detail::rdd_node<T>& n, size_t i) {
    auto part = n.materialize(i);
    if constexpr (with_index)
      f(i, part);
    else
      f(part);
    return true;
  });
}

template <class T>
std::vector<T> rdd<T>::partition_records(size_t index) const {
  auto& runner = rdd_context::job_runner_of(context_.get());
  auto i = static_cast<uint32_t>(index);
  if (auto computed = computed_elsewhere(runner, {i}))
    return *computed->front();
  node_->prepare(runner);
  std::vector<T> result;
  runner.run(1, [&](size_t) { result = node_->materialize(index); });
  return result;
}

template <class T>
local_elements<T> rdd<T>::to_local_iterator() const {
  return local_elements<T>{*this};
}

template <class T>
int64_t rdd<T>::count_approx_distinct(double relative_sd) const {
  using sketch = detail::hyper_log_log;
  auto p = sketch::precision_for(relative_sd);
  if (p > sketch::max_precision)
    return distinct().count();
  auto parts = run_all<std::optional<sketch>>(
    [p](const detail::rdd_node<T>& n, size_t i) {
      std::optional<sketch> result{std::in_place, p};
      n.compute(i, [&](const T& x) { result->add(hash<T>{}(x)); });
      return result;
    });
  sketch result{p};
  for (const auto& part : parts)
    result.merge(*part);
  return result.estimate();
}

template <class T>
template <class F>
void rdd<T>::foreach(F f) const {
  static_assert(std::is_invocable_v<F, const T&>,
                "foreach expects f(const T&)");
  run_all<bool>([&f](const detail::rdd_node<T>& n, size_t i) {
    n.compute(i, [&f](const T& x) { f(x); });
    return true;
  });
}

template <class T>
void rdd<T>::save_as_text_file(const std::string& path) const {
  detail::output_dir out{path, "save_as_text_file", false};
  detail::save_text(*this, out);
}

template <class T>
void rdd<T>::save_as_object_file(const std::string& path) const {
  static_assert(detail::is_serializable<std::vector<T>>::value,
                "save_as_object_file needs records with a "
                "Boost.Serialization serialize");
  detail::output_dir out{path, "save_as_object_file", false};
  detail::save_objects(*this, out);
}

template <class T>
template <class Less>
T rdd<T>::max(Less less) const {
  return reduce_named(
    [less](const T& a, const T& b) { return less(a, b) ? b : a; }, "max");
}

template <class T>
template <class Less>
T rdd<T>::min(Less less) const {
  return reduce_named(
    [less](const T& a, const T& b) { return less(b, a) ? b : a; }, "min");
}

template <class T>
template <class F>
T rdd<T>::tree_reduce(F f, int depth) const {
  static_assert(std::is_invocable_r_v<T, F, const T&, const T&>,
                "tree_reduce expects f(const T&, const T&) -> T");
  detail::check_tree_depth("tree_reduce", depth);
  return reduce_named(std::move(f), "tree_reduce");
}

template <class T>
template <class U, class SeqOp, class CombOp>
U rdd<T>::tree_aggregate(U zero, SeqOp seq_op, CombOp comb_op,
                         int depth) const {
  detail::check_tree_depth("tree_aggregate", depth);
  return aggregate(std::move(zero), std::move(seq_op), std::move(comb_op));
}

template <class T>
template <class U>
auto rdd<T>::collect_as_map() const {
  require_pairs<U>();
  using k = detail::key_t<U>;
  std::unordered_map<k, detail::value_t<U>, hash<k>> result;
  for (auto& kv : collect())
    result.insert_or_assign(std::move(kv.first), std::move(kv.second));
  return result;
}

template <class T>
template <class U>
std::vector<detail::value_t<U>>
rdd<T>::lookup(const detail::key_t<U>& key) const {
  require_pairs<U>();
  using values = std::vector<detail::value_t<U>>;
  auto parts = run_all<values>([&key](const detail::rdd_node<T>& n,
                                      size_t i) {
    values xs;
    n.compute(i, [&](const T& kv) {
      if (kv.first == key)
        xs.push_back(kv.second);
    });
    return xs;
  });
  values result;
  for (auto& part : parts)
    result.insert(result.end(), std::make_move_iterator(part.begin()),
                  std::make_move_iterator(part.end()));
  return result;
}

template <class T>
std::vector<T> rdd<T>::take_sample(bool with_replacement, size_t num,
                                   uint64_t seed) const {
  if (num == 0)
    return {};
  auto total = count();
  if (total == 0)
    return {};
  std::mt19937_64 gen{seed};
  std::vector<T> result;
  if (!with_replacement && num >= static_cast<size_t>(total)) {
    result = collect();
  } else {
    auto fraction = detail::sample_fraction(num, total, with_replacement);
    // The fraction makes a short sample unlikely (1e-4); sample again then.
    do {
      result = sample(with_replacement, fraction, gen()).collect();
    } while (result.size() < num);
  }
  std::shuffle(result.begin(), result.end(), gen);
  if (result.size() > num)
    result.resize(num);
  return result;
}

template <class T>
std::vector<T> rdd<T>::take_sample(bool with_replacement, size_t num) const {
  return take_sample(with_replacement, num, detail::random_seed());
}

// -- numeric actions ---------------------------------------------------------

template <class T>
T rdd<T>::sum() const {
  static_assert(std::is_arithmetic_v<T>, "sum needs an RDD of numbers");
  auto add = [](T a, const T& b) { return static_cast<T>(a + b); };
  return aggregate(T{}, add, add);
}

template <class T>
stat_counter rdd<T>::stats() const {
  static_assert(std::is_arithmetic_v<T>, "stats needs an RDD of numbers");
  return aggregate(
    stat_counter{},
    [](stat_counter acc, const T& x) {
      return acc.merge(static_cast<double>(x));
    },
    [](stat_counter a, const stat_counter& b) { return a.merge(b); });
}

template <class T>
double rdd<T>::mean() const {
  return stats().mean();
}

template <class T>
double rdd<T>::variance() const {
  return stats().variance();
}

template <class T>
double rdd<T>::sample_variance() const {
  return stats().sample_variance();
}

template <class T>
double rdd<T>::stdev() const {
  return stats().stdev();
}

template <class T>
double rdd<T>::sample_stdev() const {
  return stats().sample_stdev();
}

template <class T>
std::vector<int64_t>
rdd<T>::histogram(const std::vector<double>& buckets) const {
  detail::check_buckets(buckets);
  return count_in_buckets(buckets);
}

template <class T>
std::pair<std::vector<double>, std::vector<int64_t>>
rdd<T>::histogram(size_t bucket_count) const {
  static_assert(std::is_arithmetic_v<T>, "histogram needs an RDD of numbers");
  // The smallest and the largest element; a NaN makes both NaN, as in
  // Spark, which then refuses the range.
  using range = std::pair<double, double>;
  auto merge = [](range a, range b) {
    if (std::isnan(a.first) || std::isnan(b.first))
      return range{NAN, NAN};
    return range{std::min(a.first, b.first), std::max(a.second, b.second)};
  };
  auto r = aggregate(
    range{std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity()},
    [merge](range acc, const T& x) {
      auto d = static_cast<double>(x);
      return merge(acc, range{d, d});
    },
    merge);
  auto buckets = detail::even_buckets(r.first, r.second, bucket_count);
  auto counts = count_in_buckets(buckets);
  return {std::move(buckets), std::move(counts)};
}

template <class T>
std::vector<int64_t>
rdd<T>::count_in_buckets(std::vector<double> buckets) const {
  static_assert(std::is_arithmetic_v<T>, "histogram needs an RDD of numbers");
  auto add = [](std::vector<int64_t> a, const std::vector<int64_t>& b) {
    for (size_t i = 0; i < a.size(); ++i)
      a[i] += b[i];
    return a;
  };
  return aggregate(std::vector<int64_t>(buckets.size() - 1),
                   [&buckets](std::vector<int64_t> acc, const T& x) {
                     auto i = detail::bucket_of(buckets,
                                                static_cast<double>(x));
                     if (i >= 0)
                       ++acc[static_cast<size_t>(i)];
                     return acc;
                   },
                   add);
}

} // namespace caf_stream
