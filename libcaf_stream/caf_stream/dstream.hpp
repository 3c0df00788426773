#pragma once

#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/dstream/transformed.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

namespace detail {

[[noreturn]] void throw_different_graphs(const char* what);

void check_same_slide(const char* what, duration a, duration b);

} // namespace detail

/// A discretized stream: one RDD of `T` per batch (Spark's `DStream[T]`).
/// A handle: copies refer to the same stream. Every transformation adds a
/// stream to the context's graph, which is frozen once the context started.
/// Operations on `dstream<std::pair<K, V>>` (Spark's PairDStreamFunctions)
/// are members too and fail to compile on other element types.
template <class T>
class dstream {
public:
  using value_type = T;

  dstream(std::shared_ptr<detail::dstream_graph> graph,
          std::shared_ptr<detail::dstream_node<T>> node) noexcept
    : graph_(std::move(graph)), node_(std::move(node)) {
    // nop
  }

  /// The interval at which this stream generates RDDs.
  duration slide_duration() const noexcept {
    return node_->slide();
  }

  const std::shared_ptr<detail::dstream_node<T>>& node() const noexcept {
    return node_;
  }

  const std::shared_ptr<detail::dstream_graph>& graph() const noexcept {
    return graph_;
  }

  // -- per-batch transformations ----------------------------------------------

  /// Applies `f(const T&) -> U` to every element.
  template <class F>
  auto map(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.map(f); });
  }

  /// Applies `f(const T&) -> container of U` and flattens the results.
  template <class F>
  auto flat_map(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.flat_map(f); });
  }

  /// Keeps the elements for which `f(const T&) -> bool` holds.
  template <class F>
  dstream<T> filter(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.filter(f); });
  }

  /// Applies `f(const std::vector<T>&) -> container of U` to each partition.
  template <class F>
  auto map_partitions(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.map_partitions(f); });
  }

  /// Turns every partition into one element holding its records.
  dstream<std::vector<T>> glom() const {
    return per_batch([](const rdd<T>& x) { return x.glom(); });
  }

  /// Spreads every batch evenly over `num_partitions` partitions.
  dstream<T> repartition(size_t num_partitions) const {
    if (num_partitions == 0)
      throw std::invalid_argument("repartition: the number of partitions "
                                  "must be positive");
    return per_batch(
      [num_partitions](const rdd<T>& x) { return x.repartition(num_partitions); });
  }

  /// The elements of this stream and of `other` (Spark's `union`; both
  /// streams need the same slide).
  dstream<T> union_with(const dstream<T>& other) const {
    check_same_graph(other, "union_with");
    detail::check_same_slide("union_with", slide_duration(),
                             other.slide_duration());
    using node = detail::union_dstream_node<T>;
    return add(std::make_shared<node>(
      *graph_, std::vector<std::shared_ptr<detail::dstream_node<T>>>{
                 node_, other.node_}));
  }

  /// The number of elements of each batch (0 for an empty batch).
  dstream<int64_t> count() const {
    return per_batch([](const rdd<T>& x) {
      using kv = std::pair<int, int64_t>;
      return x.map([](const T&) { return kv{0, 1}; })
        .union_with(parallelize(std::vector<kv>{kv{0, 0}}, 1))
        .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 1)
        .map([](const kv& p) { return p.second; });
    });
  }

  /// Reduces each batch to one element with the associative `f(T, T) -> T`
  /// (no element for an empty batch).
  template <class F>
  dstream<T> reduce(F f) const {
    static_assert(std::is_invocable_r_v<T, F, const T&, const T&>,
                  "reduce expects f(const T&, const T&) -> T");
    return per_batch([f](const rdd<T>& x) {
      using kv = std::pair<int, T>;
      return x.map([](const T& y) { return kv{0, y}; })
        .reduce_by_key(f, 1)
        .map([](const kv& p) { return p.second; });
    });
  }

  /// Counts the occurrences of each distinct element in each batch.
  dstream<std::pair<T, int64_t>> count_by_value(size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([n](const rdd<T>& x) { return x.count_by_value(n); });
  }

  /// Applies `f(const rdd<T>&) -> rdd<U>` or `f(const rdd<T>&, time) ->
  /// rdd<U>` to every batch.
  template <class F>
  auto transform(F f) const {
    constexpr bool with_time = std::is_invocable_v<F, const rdd<T>&, time>;
    static_assert(with_time || std::is_invocable_v<F, const rdd<T>&>,
                  "transform expects f(const rdd<T>&) -> rdd<U> or "
                  "f(const rdd<T>&, time) -> rdd<U>");
    if constexpr (with_time) {
      using out = typename std::invoke_result_t<F, const rdd<T>&, time>::value_type;
      using node = detail::transformed_node<T, out>;
      return add(std::make_shared<node>(*graph_, node_, std::move(f)));
    } else {
      return per_batch(std::move(f));
    }
  }

  /// Applies `f(const rdd<T>&, const rdd<U>&[, time]) -> rdd<V>` to the
  /// batches of this stream and `other`.
  template <class U, class F>
  auto transform_with(const dstream<U>& other, F f) const {
    constexpr bool with_time
      = std::is_invocable_v<F, const rdd<T>&, const rdd<U>&, time>;
    static_assert(with_time
                    || std::is_invocable_v<F, const rdd<T>&, const rdd<U>&>,
                  "transform_with expects f(const rdd<T>&, const rdd<U>&) -> "
                  "rdd<V> or f(const rdd<T>&, const rdd<U>&, time) -> rdd<V>");
    check_same_graph(other, "transform_with");
    detail::check_same_slide("transform_with", slide_duration(),
                             other.slide_duration());
    if constexpr (with_time) {
      using out = typename std::invoke_result_t<F, const rdd<T>&, const rdd<U>&,
                                                time>::value_type;
      using node = detail::transformed2_node<T, U, out>;
      return add(std::make_shared<node>(*graph_, node_, other.node(),
                                        std::move(f)));
    } else {
      using out =
        typename std::invoke_result_t<F, const rdd<T>&, const rdd<U>&>::value_type;
      using node = detail::transformed2_node<T, U, out>;
      return add(std::make_shared<node>(
        *graph_, node_, other.node(),
        [f](const rdd<T>& x, const rdd<U>& y, time) { return f(x, y); }));
    }
  }

  // -- per-batch by-key transformations (T = std::pair<K, V>) ----------------

  /// Merges the values of each key with the associative `f(V, V) -> V`.
  template <class F>
  auto reduce_by_key(F f, size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([f, n](const rdd<T>& x) { return x.reduce_by_key(f, n); });
  }

  /// Spark's combineByKey on every batch.
  template <class Create, class MergeValue, class MergeCombiners>
  auto combine_by_key(Create create, MergeValue merge_value,
                      MergeCombiners merge_combiners,
                      size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([=](const rdd<T>& x) {
      return x.combine_by_key(create, merge_value, merge_combiners, n);
    });
  }

  /// Gathers the values of each key in each batch.
  template <class U = T>
  auto group_by_key(size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([n](const rdd<U>& x) { return x.group_by_key(n); });
  }

  /// Applies `f(const V&) -> W` to every value, keeping the keys.
  template <class F>
  auto map_values(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.map_values(f); });
  }

  /// Applies `f(const V&) -> container of W`, pairing each W with the key.
  template <class F>
  auto flat_map_values(F f) const {
    return per_batch([f](const rdd<T>& x) { return x.flat_map_values(f); });
  }

  /// Per-batch cogroup with `other`.
  template <class W>
  auto cogroup(const dstream<W>& other, size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return transform_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.cogroup(y, n);
    });
  }

  /// Per-batch inner join with `other`.
  template <class W>
  auto join(const dstream<W>& other, size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return transform_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.join(y, n);
    });
  }

  /// Per-batch left outer join with `other`.
  template <class W>
  auto left_outer_join(const dstream<W>& other,
                       size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return transform_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.left_outer_join(y, n);
    });
  }

  /// Per-batch right outer join with `other`.
  template <class W>
  auto right_outer_join(const dstream<W>& other,
                        size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return transform_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.right_outer_join(y, n);
    });
  }

  /// Per-batch full outer join with `other`.
  template <class W>
  auto full_outer_join(const dstream<W>& other,
                       size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return transform_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.full_outer_join(y, n);
    });
  }

  // -- output operations ------------------------------------------------------

  /// Calls `f(const rdd<T>&)` or `f(const rdd<T>&, time)` on every batch, in
  /// a job of the job executor.
  template <class F>
  void foreach_rdd(F f) const {
    constexpr bool with_time = std::is_invocable_v<F, const rdd<T>&, time>;
    static_assert(with_time || std::is_invocable_v<F, const rdd<T>&>,
                  "foreach_rdd expects f(const rdd<T>&) or "
                  "f(const rdd<T>&, time)");
    typename detail::output_node<T>::function g;
    if constexpr (with_time)
      g = std::move(f);
    else
      g = [f](const rdd<T>& x, time) { f(x); };
    graph_->add_output(std::make_shared<detail::output_node<T>>(
      node_, graph_->num_outputs(), std::move(g)));
  }

  /// Prints the first `num` elements of every batch to stdout, under Spark's
  /// "Time: <ms> ms" header, with "..." when there are more.
  void print(size_t num = 10) const {
    foreach_rdd([num](const rdd<T>& x, time t) {
      std::vector<std::string> first;
      for (const auto& y : x.take(num + 1))
        first.push_back(to_text(y));
      std::cout << detail::format_print_block(t.milliseconds(), first, num)
                << std::flush;
    });
  }

  /// Writes every batch to the directory `prefix-<batch ms>[.suffix]`, one
  /// file `part-NNNNN` per partition and one element per line.
  void save_as_text_files(std::string prefix, std::string suffix = "") const {
    foreach_rdd([prefix, suffix](const rdd<T>& x, time t) {
      auto dir = detail::batch_file_name(prefix, suffix, t.milliseconds());
      auto tmp = detail::begin_output_dir(dir);
      x.foreach_partition([&tmp](size_t index, const std::vector<T>& part) {
        std::vector<std::string> lines;
        lines.reserve(part.size());
        for (const auto& y : part)
          lines.push_back(to_text(y));
        detail::write_part_file(tmp, index, lines);
      });
      detail::commit_output_dir(tmp, dir);
    });
  }

private:
  template <class U>
  void check_same_graph(const dstream<U>& other, const char* what) const {
    if (graph_ != other.graph())
      detail::throw_different_graphs(what);
  }

  size_t partitions_or_default(size_t n) const {
    return n != 0 ? n : graph_->default_parallelism();
  }

  template <class Node>
  auto add(std::shared_ptr<Node> node) const {
    using out = typename Node::value_type;
    graph_->add(node);
    return dstream<out>{graph_, std::move(node)};
  }

  template <class F>
  auto per_batch(F f) const {
    using out = typename std::invoke_result_t<F, const rdd<T>&>::value_type;
    using node = detail::transformed_node<T, out>;
    return add(std::make_shared<node>(
      *graph_, node_, [f](const rdd<T>& x, time) { return f(x); }));
  }

  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<detail::dstream_node<T>> node_;
};

} // namespace caf_stream
