#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/dstream/output.hpp"
#include "caf_stream/dstream/state.hpp"
#include "caf_stream/dstream/transformed.hpp"
#include "caf_stream/dstream/update_state.hpp"
#include "caf_stream/dstream/window.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/state_spec.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

namespace detail {

[[noreturn]] void throw_different_graphs(const char* what);

void check_same_slide(const char* what, duration a, duration b);

void check_checkpoint_interval(const dstream_node_base& node,
                               duration interval);

void check_can_persist(const dstream_graph& graph);

void check_can_slice(const dstream_graph& graph);

} // namespace detail

template <class K, class V, class S, class M>
class map_with_state_dstream;

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

  /// The RDDs this stream generated for the batches from `from` to `to`,
  /// both included, oldest first (Spark's `slice`; a `from` off the slide
  /// grid goes down to it). A stream keeps its RDDs for its remember
  /// duration, which `streaming_context::remember` lengthens. Unlike Spark,
  /// `slice` computes no RDD the stream did not generate for its batch
  /// (that would run a state stream out of turn). While the context runs,
  /// call it inside a job (`foreach_rdd`, `transform`), where the RDDs
  /// live; elsewhere, and before `start()`, it throws `stream_error`.
  std::vector<rdd<T>> slice(time from, time to) const {
    detail::check_can_slice(*graph_);
    auto zero = node_->zero_time();
    auto slide = node_->slide();
    if (from < zero)
      from = zero;
    from = zero + slide * ((from - zero).count() / slide.count());
    std::vector<rdd<T>> result;
    for (auto& [t, x] : node_->generated_between(from - duration{1}, to))
      result.push_back(std::move(x));
    return result;
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
    return per_batch(
      [n](const rdd<T>& x) { return detail::value_counts(x, n()); });
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
      // The user's function runs per batch on the driver (Spark's rule), so
      // no other node computes this stream.
      return per_batch(std::move(f), false);
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
    return per_batch([f, n](const rdd<T>& x) { return x.reduce_by_key(f, n()); });
  }

  /// Spark's combineByKey on every batch.
  template <class Create, class MergeValue, class MergeCombiners>
  auto combine_by_key(Create create, MergeValue merge_value,
                      MergeCombiners merge_combiners,
                      size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([=](const rdd<T>& x) {
      return x.combine_by_key(create, merge_value, merge_combiners, n());
    });
  }

  /// Gathers the values of each key in each batch.
  template <class U = T>
  auto group_by_key(size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch([n](const rdd<U>& x) { return x.group_by_key(n()); });
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
    return per_batch_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.cogroup(y, n());
    });
  }

  /// Per-batch inner join with `other`.
  template <class W>
  auto join(const dstream<W>& other, size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.join(y, n());
    });
  }

  /// Per-batch left outer join with `other`.
  template <class W>
  auto left_outer_join(const dstream<W>& other,
                       size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.left_outer_join(y, n());
    });
  }

  /// Per-batch right outer join with `other`.
  template <class W>
  auto right_outer_join(const dstream<W>& other,
                        size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.right_outer_join(y, n());
    });
  }

  /// Per-batch full outer join with `other`.
  template <class W>
  auto full_outer_join(const dstream<W>& other,
                       size_t num_partitions = 0) const {
    auto n = partitions_or_default(num_partitions);
    return per_batch_with(other, [n](const rdd<T>& x, const rdd<W>& y) {
      return x.full_outer_join(y, n());
    });
  }

  // -- window operations ------------------------------------------------------

  /// Every `slide` (default: this stream's slide), the union of the batches
  /// of the last `window_length`. Both must be multiples of this stream's
  /// slide.
  dstream<T> window(duration window_length) const {
    return window(window_length, slide_duration());
  }

  /// See above.
  dstream<T> window(duration window_length, duration slide) const {
    detail::check_window("window", window_length, slide, slide_duration());
    using node = detail::windowed_node<T>;
    return add(std::make_shared<node>(*graph_, node_, window_length, slide));
  }

  /// The number of elements in each window (incremental: needs a checkpoint
  /// directory, as in Spark).
  dstream<int64_t> count_by_window(duration window_length,
                                   duration slide) const {
    return map([](const T&) { return int64_t{1}; })
      .reduce_by_window([](int64_t a, int64_t b) { return a + b; },
                        [](int64_t a, int64_t b) { return a - b; },
                        window_length, slide);
  }

  /// Reduces each window to one element with the associative `f(T, T) -> T`.
  template <class F>
  dstream<T> reduce_by_window(F f, duration window_length,
                              duration slide) const {
    return reduce(f).window(window_length, slide).reduce(f);
  }

  /// Like above, incrementally: `inv(a, b)` undoes `f(a, b)` for the
  /// batches that leave the window. Needs a checkpoint directory.
  template <class F, class InvF>
  dstream<T> reduce_by_window(F f, InvF inv, duration window_length,
                              duration slide) const {
    using kv = std::pair<int, T>;
    return map([](const T& x) { return kv{0, x}; })
      .reduce_by_key_and_window(f, inv, window_length, slide, 1)
      .map([](const kv& x) { return x.second; });
  }

  /// Counts each distinct element in each window (incremental; keys whose
  /// count drops to 0 disappear). Needs a checkpoint directory.
  dstream<std::pair<T, int64_t>>
  count_by_value_and_window(duration window_length, duration slide,
                            size_t num_partitions = 0) const {
    using kv = std::pair<T, int64_t>;
    return map([](const T& x) { return kv{x, 1}; })
      .reduce_by_key_and_window([](int64_t a, int64_t b) { return a + b; },
                                [](int64_t a, int64_t b) { return a - b; },
                                window_length, slide, num_partitions,
                                [](const kv& x) { return x.second != 0; });
  }

  // -- window operations on pairs (T = std::pair<K, V>) ----------------------

  /// Gathers the values of each key over the last `window_length`, every
  /// `slide` (default: this stream's slide).
  template <class U = T>
  auto group_by_key_and_window(duration window_length) const {
    return group_by_key_and_window<U>(window_length, slide_duration());
  }

  /// See above.
  template <class U = T>
  auto group_by_key_and_window(duration window_length, duration slide,
                               size_t num_partitions = 0) const {
    using v = std::vector<detail::value_t<U>>;
    auto append = [](v a, const v& b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    };
    return group_by_key<U>(num_partitions)
      .window(window_length, slide)
      .combine_by_key([](const v& x) { return x; }, append, append,
                      num_partitions);
  }

  /// Merges the values of each key over the last `window_length`, every
  /// `slide` (default: this stream's slide), with the associative `f`.
  template <class F>
  auto reduce_by_key_and_window(F f, duration window_length) const {
    return reduce_by_key_and_window(f, window_length, slide_duration());
  }

  /// See above.
  template <class F>
  auto reduce_by_key_and_window(F f, duration window_length, duration slide,
                                size_t num_partitions = 0) const {
    return reduce_by_key(f, num_partitions)
      .window(window_length, slide)
      .reduce_by_key(f, num_partitions);
  }

  /// Incremental `reduce_by_key_and_window`: each window's values are the
  /// previous window's, minus (`inv(a, b)` undoes `f(a, b)`) the batches that
  /// left, plus the batches that entered. Keys for which `filter(kv)` is false
  /// are dropped (without a filter, keys stay, e.g. with a count of 0). Needs
  /// a checkpoint directory.
  template <class F, class InvF, class U = T>
  auto reduce_by_key_and_window(F f, InvF inv, duration window_length,
                                duration slide, size_t num_partitions = 0,
                                std::function<bool(const detail::identity_t<U>&)> filter
                                = nullptr) const {
    using k = detail::key_t<U>;
    using v = detail::value_t<U>;
    static_assert(std::is_invocable_r_v<v, InvF, const v&, const v&>,
                  "reduce_by_key_and_window expects inv(const V&, const V&) "
                  "-> V");
    detail::check_window("reduce_by_key_and_window", window_length, slide,
                         slide_duration());
    using node = detail::reduced_windowed_node<k, v>;
    return add(std::make_shared<node>(
      *graph_, reduce_by_key(f, num_partitions).node(), std::move(f),
      std::move(inv), window_length, slide, num_partitions,
      std::move(filter)));
  }

  // -- state operations (T = std::pair<K, V>) -------------------------------

  /// Spark's updateStateByKey: after every batch, the state of each key is
  /// `f(new_values, previous_state)` with `f(const std::vector<V>&,
  /// std::optional<S>) -> std::optional<S>`, or `f(time, const K&, const
  /// std::vector<V>&, std::optional<S>) -> std::optional<S>`; `std::nullopt`
  /// removes the key. Called for every key in the state, every batch. Needs a
  /// checkpoint directory.
  template <class S = void, class F>
  auto update_state_by_key(F f, size_t num_partitions = 0) const {
    return add(detail::make_update_state_node<T, S>(
      *graph_, node_, std::move(f), num_partitions, std::nullopt));
  }

  /// Like above, starting from the state `initial`.
  template <class S = void, class F, class U = T>
  auto update_state_by_key(F f, size_t num_partitions,
                           rdd<std::pair<detail::key_t<U>, S>> initial) const {
    return add(detail::make_update_state_node<T, S>(
      *graph_, node_, std::move(f), num_partitions, std::move(initial)));
  }

  /// Spark's mapWithState: calls the spec's function for every record of
  /// every batch (and once more for keys that time out), with the key's
  /// state; the stream holds the function's results, `state_snapshots()` the
  /// state after each batch. Needs a checkpoint directory.
  template <class K, class V, class S, class M>
  map_with_state_dstream<K, V, S, M>
  map_with_state(const basic_state_spec<K, V, S, M>& spec) const {
    static_assert(std::is_same_v<T, std::pair<K, V>>,
                  "map_with_state: the spec's key and value types must match "
                  "the stream's std::pair<K, V>");
    using node = detail::map_with_state_node<K, V, S, M>;
    auto n = std::make_shared<node>(*graph_, node_, spec,
                                    spec.get_num_partitions());
    graph_->add(n);
    return {graph_, std::move(n)};
  }

  /// Keeps every RDD of this stream in memory once computed (Spark's
  /// `persist()`, MEMORY_ONLY), until the stream forgets the batch: output
  /// operations and streams that use it compute it once per batch instead
  /// of once each. Throws `stream_error` once the context started.
  const dstream<T>& persist() const {
    detail::check_can_persist(*graph_);
    node_->persist();
    return *this;
  }

  /// The same as `persist()` (Spark's `cache`).
  const dstream<T>& cache() const {
    return persist();
  }

  /// Writes this state stream's data every `interval` (a multiple of its
  /// slide; the default is the smallest multiple of at least 10 s). Only
  /// state streams keep data to checkpoint; others throw `stream_error`.
  const dstream<T>& checkpoint(duration interval) const {
    detail::check_checkpoint_interval(*node_, interval);
    node_->set_checkpoint_interval(interval);
    return *this;
  }

  // -- output operations (defined in dstream_outputs.hpp) --------------------

  /// Calls `f(const rdd<T>&)` or `f(const rdd<T>&, time)` on every batch, in
  /// a job of the job executor.
  template <class F>
  void foreach_rdd(F f) const;

  /// Prints the first `num` elements of every batch to stdout, under Spark's
  /// "Time: <ms> ms" header, with "..." when there are more.
  void print(size_t num = 10) const;

  /// Writes every batch to the directory `prefix-<batch ms>[.suffix]`, one
  /// file `part-NNNNN` per partition and one element per line.
  void save_as_text_files(std::string prefix, std::string suffix = "") const;

  /// Writes each batch to the directory `prefix-<batch ms>[.suffix]`, which
  /// appears whole, with a file `part-NNNNN` per partition holding its
  /// records in Boost.Serialization form (Spark's `saveAsObjectFiles`;
  /// `streaming_context::object_file` reads one back).
  void save_as_object_files(std::string prefix,
                            std::string suffix = "") const;

  /// After each batch, sends the actor `dst` a message `(time, std::vector<T>)`
  /// with the batch's time and records: one message per batch, in batch
  /// order (an actor application's way out of a stream). A batch whose
  /// actor is gone fails with a message saying so. Needs
  /// `caf_stream/actor_stream.hpp`.
  template <class Actor>
  void send_to(const Actor& dst) const;

  /// Like `send_to(dst)`, with `f(const T&)` applied to each record first:
  /// the actor gets `(time, std::vector<U>)` for `f`'s result type `U`.
  template <class Actor, class F>
  void send_to(const Actor& dst, F f) const;

private:
  template <class>
  friend class dstream;

  // Adds the output operation `name` ("print", ...) calling `f` on every
  // batch.
  void add_output(const char* name,
                  typename detail::output_node<T>::function f) const {
    graph_->add_output(
      std::make_shared<detail::output_node<T>>(node_, std::move(f), name));
  }

  template <class U>
  void check_same_graph(const dstream<U>& other, const char* what) const {
    if (graph_ != other.graph())
      detail::throw_different_graphs(what);
  }

  // The partitions of a by-key operation that names `n` (0: the default
  // parallelism, as each batch's lineage is built).
  detail::partition_count partitions_or_default(size_t n) const {
    return {*graph_, n};
  }

  template <class Node>
  auto add(std::shared_ptr<Node> node) const {
    using out = typename Node::value_type;
    graph_->add(node);
    return dstream<out>{graph_, std::move(node)};
  }

  // A stream whose RDD of each batch is `f(rdd)`; `portable`: `f` calls
  // the operations of `rdd<T>` only, which every node runs the same way
  // (`dstream_node_base::portable`).
  template <class F>
  auto per_batch(F f, bool portable = true) const {
    using out = typename std::invoke_result_t<F, const rdd<T>&>::value_type;
    using node = detail::transformed_node<T, out>;
    return add(std::make_shared<node>(
      *graph_, node_, [f](const rdd<T>& x, time) { return f(x); }, portable));
  }

  // `per_batch` of two streams (the joins).
  template <class U, class F>
  auto per_batch_with(const dstream<U>& other, F f) const {
    check_same_graph(other, "join");
    detail::check_same_slide("join", slide_duration(), other.slide_duration());
    using out =
      typename std::invoke_result_t<F, const rdd<T>&, const rdd<U>&>::value_type;
    using node = detail::transformed2_node<T, U, out>;
    return add(std::make_shared<node>(
      *graph_, node_, other.node(),
      [f](const rdd<T>& x, const rdd<U>& y, time) { return f(x, y); }, true));
  }

  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<detail::dstream_node<T>> node_;
};

} // namespace caf_stream

#include "caf_stream/dstream/dstream_outputs.hpp"
#include "caf_stream/dstream/map_with_state_dstream.hpp"
