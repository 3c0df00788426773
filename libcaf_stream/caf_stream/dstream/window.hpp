#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/rdd_data.hpp"
#include "caf_stream/dstream/node.hpp"

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

/// What a key's window value is made of: the previous window's value, the
/// reduced values leaving the window and those entering it.
template <class V>
struct window_parts {
  std::optional<V> previous;
  std::optional<V> leaving;
  std::optional<V> entering;
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
    auto leaving = slice(*reduced_, t - window_ - slide, t - window_);
    auto entering = slice(*reduced_, t - slide, t);
    std::vector<rdd<tagged>> parts;
    if (auto prev = this->get_or_compute(t - slide))
      parts.push_back(tag(*prev, 0));
    for (auto& x : leaving)
      parts.push_back(tag(x, 1));
    for (auto& x : entering)
      parts.push_back(tag(x, 2));
    auto f = f_;
    auto merge = [f](std::optional<V>& acc, const V& x) {
      acc = acc ? f(*acc, x) : x;
    };
    auto add = [merge](window_parts<V> acc, const std::pair<int, V>& x) {
      merge(x.first == 0 ? acc.previous
                         : (x.first == 1 ? acc.leaving : acc.entering),
            x.second);
      return acc;
    };
    auto combined = union_of(parts).combine_by_key(
      [add](const std::pair<int, V>& x) { return add({}, x); }, add,
      [merge](window_parts<V> a, window_parts<V> b) {
        for (auto [to, from] : {std::pair{&a.previous, &b.previous},
                                std::pair{&a.leaving, &b.leaving},
                                std::pair{&a.entering, &b.entering}})
          if (*from)
            merge(*to, **from);
        return a;
      },
      partitions_);
    auto result = combined.flat_map(
      [f, inv = inv_, filter = filter_](
        const std::pair<K, window_parts<V>>& kv) {
        std::optional<value_type> out;
        const auto& p = kv.second;
        if (p.previous) {
          auto v = *p.previous;
          if (p.leaving)
            v = inv(v, *p.leaving);
          if (p.entering)
            v = f(v, *p.entering);
          out.emplace(kv.first, std::move(v));
        } else if (p.entering) {
          // New in this window (or filtered out of the previous one).
          out.emplace(kv.first, *p.entering);
        }
        if (out && filter && !filter(*out))
          out.reset();
        return out ? std::vector<value_type>{std::move(*out)}
                   : std::vector<value_type>{};
      });
    return materialize(result);
  }

  duration parent_remember_duration() const noexcept override {
    return this->remember_duration() + window_;
  }

private:
  using tagged = std::pair<K, std::pair<int, V>>;

  static rdd<tagged> tag(const rdd<value_type>& x, int which) {
    return x.map([which](const value_type& kv) {
      return tagged{kv.first, {which, kv.second}};
    });
  }

  std::shared_ptr<dstream_node<value_type>> reduced_;
  reduce_function f_;
  reduce_function inv_;
  filter_function filter_;
  duration window_;
  size_t partitions_;
};

} // namespace caf_stream::detail
