#pragma once

// The actions of `rdd<T>` (declared in rdd.hpp, which includes this file
// at its end): they run the RDD's tasks, on the worker nodes where those
// keep the input, and bring the results back.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf_stream/rdd/rdd.hpp"

namespace caf_stream {

// -- result stages on the worker nodes --------------------------------------

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
  auto bytes = runner().run_result_stage(*node_, all_partitions(),
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
int64_t rdd<T>::count() const {
  auto counts = counted_elsewhere();
  if (!counts)
    counts = run_all<int64_t>([](const detail::rdd_node<T>& n, size_t i) {
      return n.count_records(i);
    });
  int64_t total = 0;
  for (auto c : *counts)
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
    detail::throw_empty_collection("reduce");
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
template <class U>
auto rdd<T>::count_by_key() const {
  require_pairs<U>();
  using k = detail::key_t<U>;
  std::unordered_map<k, int64_t, hash<k>> result;
  auto counts = map([](const T& kv) { return std::pair<k, int64_t>{kv.first, 1}; })
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
                  .collect();
  for (auto& [key, n] : counts)
    result.emplace(std::move(key), n);
  return result;
}

template <class T>
std::vector<T> rdd<T>::take(size_t num) const {
  std::vector<T> result;
  if (num == 0)
    return result;
  auto& runner = this->runner();
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

} // namespace caf_stream
