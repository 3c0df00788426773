#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/rdd_data.hpp"
#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/hash.hpp"

namespace caf_stream::detail {

/// Throws `stream_error` with Spark's message unless `window` and `slide` are
/// positive multiples of `parent_slide`. `what` names the operation.
void check_window(const char* what, duration window, duration slide,
                  duration parent_slide);

/// The RDDs `parent` generated for the times of its grid in `(after, upto]`.
template <class T>
std::vector<rdd<T>> slice(dstream_node<T>& parent, time after, time upto) {
  std::vector<rdd<T>> result;
  for (auto t = after + parent.slide(); t <= upto; t = t + parent.slide())
    if (auto x = parent.get_or_compute(t))
      result.push_back(std::move(*x));
  return result;
}

/// One RDD with the partitions of all `xs` (empty if there are none).
template <class T>
rdd<T> union_of(const std::vector<rdd<T>>& xs) {
  std::vector<rdd_node_ptr<T>> nodes;
  nodes.reserve(xs.size());
  for (const auto& x : xs)
    nodes.push_back(x.node());
  return rdd<T>{std::make_shared<union_node<T>>(std::move(nodes))};
}

/// Spark's WindowedDStream: at every slide, the union of the parent's RDDs
/// of the last `window` (the times in `(t - window, t]`).
template <class T>
class windowed_node final : public dstream_node<T> {
public:
  windowed_node(dstream_graph& graph, std::shared_ptr<dstream_node<T>> parent,
                duration window, duration slide)
    : dstream_node<T>(graph, slide, {parent.get()}),
      parent_(std::move(parent)),
      window_(window) {
    this->remember(slide);
  }

protected:
  std::optional<rdd<T>> compute(time t) override {
    return union_of(slice(*parent_, t - window_, t));
  }

  duration parent_remember_duration() const noexcept override {
    return this->remember_duration() + window_;
  }

private:
  std::shared_ptr<dstream_node<T>> parent_;
  duration window_;
};

/// One slide of an incremental window, partition by partition: the
/// previous window value, the reduced batches leaving and those entering are
/// all hash-partitioned alike (`n` partitions by `partition_of`), so
/// partition `p` of the new window needs partition `p` of each of them and
/// nothing travels through a shuffle. Spark's rules per key: the previous
/// value, minus (`inv`) the leaving values, plus (`f`) the entering ones; a
/// key without a previous value starts from its entering values (and is
/// dropped if it has none); `filter` (if set) drops keys.
template <class K, class V>
class window_merge_node final : public rdd_node<std::pair<K, V>> {
public:
  using value_type = std::pair<K, V>;
  using reduce_function = std::function<V(const V&, const V&)>;
  using filter_function = std::function<bool(const value_type&)>;

  window_merge_node(std::optional<rdd_node_ptr<value_type>> previous,
                    std::vector<rdd_node_ptr<value_type>> leaving,
                    std::vector<rdd_node_ptr<value_type>> entering, size_t n,
                    reduce_function f, reduce_function inv,
                    filter_function filter)
    : previous_(std::move(previous)),
      leaving_(std::move(leaving)),
      entering_(std::move(entering)),
      n_(n),
      f_(std::move(f)),
      inv_(std::move(inv)),
      filter_(std::move(filter)) {
    // nop
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    if (previous_)
      (*previous_)->prepare(runner);
    for (auto& x : leaving_)
      x->prepare(runner);
    for (auto& x : entering_)
      x->prepare(runner);
  }

  void compute(size_t index,
               typename rdd_node<value_type>::sink out) const override {
    struct parts {
      std::optional<V> previous;
      std::optional<V> leaving;
      std::optional<V> entering;
    };
    scratch_table<K, parts> scratch;
    auto& acc = *scratch;
    auto read = [&](const rdd_node_ptr<value_type>& x, std::optional<V> parts::*which) {
      if (index >= x->num_partitions())
        return;
      x->compute(index, [&](const value_type& kv) {
        acc.upsert(
          kv.first, hash<K>{}(kv.first),
          [&] {
            parts p;
            p.*which = kv.second;
            return p;
          },
          [&](parts& p) {
            auto& slot = p.*which;
            slot = slot ? f_(*slot, kv.second) : kv.second;
          });
      });
    };
    if (previous_)
      read(*previous_, &parts::previous);
    for (auto& x : leaving_)
      read(x, &parts::leaving);
    for (auto& x : entering_)
      read(x, &parts::entering);
    for (auto& [key, p] : acc) {
      std::optional<V> v;
      if (p.previous) {
        v = p.previous;
        if (p.leaving)
          v = inv_(*v, *p.leaving);
        if (p.entering)
          v = f_(*v, *p.entering);
      } else if (p.entering) {
        v = p.entering;
      }
      if (!v)
        continue;
      value_type kv{key, std::move(*v)};
      if (!filter_ || filter_(kv))
        out(kv);
    }
  }

private:
  std::optional<rdd_node_ptr<value_type>> previous_;
  std::vector<rdd_node_ptr<value_type>> leaving_;
  std::vector<rdd_node_ptr<value_type>> entering_;
  size_t n_;
  reduce_function f_;
  reduce_function inv_;
  filter_function filter_;
};

/// Spark's ReducedWindowedDStream: `reduce_by_key_and_window` with an inverse
/// function. Each window value is the previous one, minus (`inv`) the
/// batches that left the window, plus (`f`) the batches that entered it, so
/// the cost of a slide does not grow with the window. Keys for which
/// `filter` is false are dropped (all are kept without a filter).
template <class K, class V>
class reduced_windowed_node final : public dstream_node<std::pair<K, V>> {
public:
  using value_type = std::pair<K, V>;
  using reduce_function = std::function<V(const V&, const V&)>;
  using filter_function = std::function<bool(const value_type&)>;

  /// `reduced` is the parent reduced by key per batch.
  reduced_windowed_node(dstream_graph& graph,
                        std::shared_ptr<dstream_node<value_type>> reduced,
                        reduce_function f, reduce_function inv,
                        duration window, duration slide, size_t partitions,
                        filter_function filter)
    : dstream_node<value_type>(graph, slide, {reduced.get()}),
      reduced_(std::move(reduced)),
      f_(std::move(f)),
      inv_(std::move(inv)),
      filter_(std::move(filter)),
      window_(window),
      partitions_(partitions) {
    this->remember(slide);
  }

  bool must_checkpoint() const noexcept override {
    return true;
  }

  std::string checkpoint_data(time t) override {
    // The newest window value, and the reduced batches that later slides
    // subtract.
    auto slide = this->slide();
    return to_bytes(
      std::make_pair(save_generated(*this, t - slide, t),
                     save_generated(*reduced_, t - slide - window_, t)));
  }

  void restore_data(const std::string& bytes) override {
    std::pair<timed_partitions<value_type>, timed_partitions<value_type>> xs;
    from_bytes(bytes, xs);
    restore_generated(*this, std::move(xs.first));
    restore_generated(*reduced_, std::move(xs.second));
  }

protected:
  std::optional<rdd<value_type>> compute(time t) override {
    // Current window (t - window, t], previous one (t - window - slide,
    // t - slide]: the batches in (t - window - slide, t - window] leave, those
    // in (t - slide, t] enter.
    auto slide = this->slide();
    auto nodes = [](const std::vector<rdd<value_type>>& xs) {
      std::vector<rdd_node_ptr<value_type>> result;
      for (auto& x : xs)
        result.push_back(x.node());
      return result;
    };
    std::optional<rdd_node_ptr<value_type>> previous;
    if (auto prev = this->get_or_compute(t - slide))
      previous = prev->node();
    auto leaving = slice(*reduced_, t - window_ - slide, t - window_);
    auto entering = slice(*reduced_, t - slide, t);
    return materialize(rdd<value_type>{std::make_shared<window_merge_node<K, V>>(
      std::move(previous), nodes(leaving), nodes(entering), partitions_, f_,
      inv_, filter_)}, this);
  }

  duration parent_remember_duration() const noexcept override {
    return this->remember_duration() + window_;
  }

private:
  std::shared_ptr<dstream_node<value_type>> reduced_;
  reduce_function f_;
  reduce_function inv_;
  filter_function filter_;
  duration window_;
  size_t partitions_;
};

} // namespace caf_stream::detail
