#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/dstream/state.hpp"
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

/// One partition of an incremental window, owned by its holder: the
/// window's value per key and the reduced batches in the window, oldest
/// first, as they entered.
template <class K, class V>
struct window_partition {
  using value_type = std::pair<K, V>;
  using batch = std::pair<int64_t, std::vector<value_type>>;

  // A batch in the window: entry `index` of the block it came in.
  struct kept_batch {
    std::shared_ptr<const std::vector<batch>> source;
    size_t index;

    int64_t ms() const {
      return (*source)[index].first;
    }

    const batch& records() const {
      return (*source)[index];
    }
  };

  erasable_table<K, V> values;
  std::deque<kept_batch> batches;
  // The time (ms) of the newest batch that entered: a slide sent again
  // (its batch failed at another partition) adds nothing twice.
  std::optional<int64_t> newest;

  /// What a slide changed, so that a slide whose function throws midway can
  /// be taken back: it leaves no trace in the partition.
  struct changes {
    /// The values changed; the keys live in the slide's table of changes.
    undo_log<K, V> values;
    /// The entries the filter dropped, in order, after the changes in
    /// `values` (which hold most of them already: the slide changed them;
    /// others only a filter whose answer changes drops).
    std::vector<std::pair<K, V>> dropped;
    /// Batches taken from the front of `batches`, in order.
    std::vector<kept_batch> left;
    /// Batches added at the back of `batches`.
    size_t entered = 0;
    std::optional<int64_t> newest;
  };

  /// Puts back what `x` changed, newest change first.
  void roll_back(changes& x) {
    for (auto i = x.dropped.rbegin(); i != x.dropped.rend(); ++i)
      values.set(i->first, hash<K>{}(i->first), std::move(i->second));
    x.values.roll_back(values);
    batches.erase(batches.end() - static_cast<std::ptrdiff_t>(x.entered),
                  batches.end());
    batches.insert(batches.begin(), x.left.begin(), x.left.end());
    newest = x.newest;
  }
};

/// `reduce_by_key_and_window`'s work at the holders (with an inverse
/// function): a partition is the window's value per key and the reduced
/// batches in the window, as they entered. Each slide takes the batches that
/// entered it, subtracts (`inv`) the batches that left it and adds (`f`) the
/// entering ones, in place, so a slide costs what enters and leaves (plus
/// the copy of the window it outputs). Spark's rules per key: the previous
/// value, minus the leaving values, plus the entering ones; a key without a
/// value starts from its entering values (and is dropped if it has none);
/// `filter` (if set) drops keys. All inputs are hash-partitioned alike, so
/// nothing travels through a shuffle. When a function throws, the slide's
/// changes are taken back and its batches skipped: each key's value counts
/// all of a batch or none of it.
template <class K, class V>
class window_state_operator final
  : public basic_state_operator<window_partition<K, V>, K, V> {
public:
  using value_type = std::pair<K, V>;
  using reduce_function = std::function<V(const V&, const V&)>;
  using filter_function = std::function<bool(const value_type&)>;
  /// A reduced batch's partition, with the batch time (ms).
  using batch = typename window_partition<K, V>::batch;
  /// What a checkpoint keeps of a partition (and `load` reads): the
  /// window's value and the batches in the window.
  using saved = std::pair<std::vector<value_type>, std::vector<batch>>;

  window_state_operator(reduce_function f, reduce_function inv,
                        filter_function filter, duration window)
    : f_(std::move(f)),
      inv_(std::move(inv)),
      filter_(std::move(filter)),
      window_(window) {
    // nop
  }

  std::string signature() const override {
    return "reduce_by_key_and_window<" + type_name(typeid(K)) + ", "
           + type_name(typeid(V)) + ">";
  }

protected:
  size_t keys(const window_partition<K, V>& part) const override {
    return part.values.size();
  }

  /// `update` takes the `batch`es entering at `t` and returns the window;
  /// `load` takes one `saved`, `save` returns one; `snapshot` returns the
  /// window.
  block apply(window_partition<K, V>& part, state_call what, time t,
              const block& in) const override {
    switch (what) {
      case state_call::load: {
        auto xs = block_records<saved>(in);
        for (auto& x : *xs)
          load(part, x);
        return {};
      }
      case state_call::update: {
        auto entering = block_records<batch>(in);
        scratch_table<K, delta_type> delta;
        typename partition::changes undo;
        undo.newest = part.newest;
        try {
          return make_block(0, slide(part, entering, t, *delta, undo));
        } catch (...) {
          part.roll_back(undo);
          // The slide's batches stay out of this partition's window: sent
          // again with the next slide, they would fail it too.
          for (const auto& b : *entering)
            part.newest = std::max(part.newest.value_or(b.first), b.first);
          throw;
        }
      }
      case state_call::snapshot: {
        std::vector<value_type> out;
        part.values.for_each(
          [&](const K& k, const V& v) { out.emplace_back(k, v); });
        return make_block(0, std::move(out));
      }
      case state_call::save: {
        saved x;
        part.values.for_each(
          [&](const K& k, const V& v) { x.first.emplace_back(k, v); });
        for (const auto& b : part.batches)
          x.second.push_back(b.records());
        return make_block(0, std::vector<saved>{std::move(x)});
      }
    }
    return {};
  }

private:
  using partition = window_partition<K, V>;
  using kept_batch = typename partition::kept_batch;
  // A key's leaving and entering values in a slide, reduced with `f`.
  using delta_type = std::pair<std::optional<V>, std::optional<V>>;

  void load(partition& part, const saved& x) const {
    for (const auto& kv : x.first)
      part.values.set(kv.first, hash<K>{}(kv.first), kv.second);
    auto source = std::make_shared<std::vector<batch>>(x.second);
    std::sort(source->begin(), source->end(),
              [](const batch& a, const batch& b) { return a.first < b.first; });
    for (size_t i = 0; i < source->size(); ++i)
      part.batches.push_back(kept_batch{source, i});
    if (!source->empty())
      part.newest = std::max(part.newest.value_or(source->back().first),
                             source->back().first);
  }

  // Applies one slide and returns the window. `delta` (empty) gets each
  // key's leaving and entering values; `undo` what the slide changed.
  std::vector<value_type> slide(partition& part,
                                std::shared_ptr<const std::vector<batch>> in,
                                time t, hash_table<K, delta_type>& delta,
                                typename partition::changes& undo) const {
    auto add = [&](const batch& b, std::optional<V> delta_type::*which) {
      for (const auto& kv : b.second)
        delta.upsert(
          kv.first, hash<K>{}(kv.first),
          [&] {
            delta_type d;
            d.*which = kv.second;
            return d;
          },
          [&](delta_type& d) {
            auto& slot = d.*which;
            slot = slot ? f_(*slot, kv.second) : kv.second;
          });
    };
    auto horizon = (t - window_).milliseconds();
    while (!part.batches.empty() && part.batches.front().ms() <= horizon) {
      add(part.batches.front().records(), &delta_type::first);
      undo.left.push_back(std::move(part.batches.front()));
      part.batches.pop_front();
    }
    for (size_t i = 0; i < in->size(); ++i) {
      auto ms = (*in)[i].first;
      if ((part.newest && ms <= *part.newest) || ms <= horizon)
        continue;
      add((*in)[i], &delta_type::second);
      part.batches.push_back(kept_batch{in, i});
      ++undo.entered;
      part.newest = ms;
    }
    auto& changes = delta.entries();
    undo.values.reserve(changes.size());
    for (size_t i = 0; i < changes.size(); ++i) {
      auto& [key, d] = changes[i];
      auto h = delta.hash_at(i);
      auto* value = part.values.find(key, h);
      if (value == nullptr) {
        if (d.second) {
          undo.values.added(key);
          part.values.set(key, h, std::move(*d.second));
        }
        continue;
      }
      std::optional<V> next;
      if (d.first)
        next = inv_(*value, *d.first);
      if (d.second)
        next = f_(next ? *next : *value, *d.second);
      undo.values.changed(key, std::move(*value));
      *value = std::move(*next);
    }
    std::vector<value_type> out;
    out.reserve(part.values.size());
    part.values.retain([&](const K& key, V& value) {
      out.emplace_back(key, value);
      if (!filter_ || filter_(out.back()))
        return true;
      out.pop_back();
      undo.dropped.emplace_back(key, std::move(value));
      return false;
    });
    return out;
  }

  reduce_function f_;
  reduce_function inv_;
  filter_function filter_;
  duration window_;
};

/// Spark's ReducedWindowedDStream: `reduce_by_key_and_window` with an inverse
/// function. Each window value is the previous one, minus (`inv`) the
/// batches that left the window, plus (`f`) the batches that entered it, so
/// the cost of a slide does not grow with the window. Keys for which
/// `filter` is false are dropped (all are kept without a filter). The
/// window lives at its holders (`window_state_operator`).
template <class K, class V>
class reduced_windowed_node final : public dstream_node<std::pair<K, V>> {
public:
  using value_type = std::pair<K, V>;
  using op_type = window_state_operator<K, V>;
  using reduce_function = typename op_type::reduce_function;
  using filter_function = typename op_type::filter_function;
  using batch = typename op_type::batch;
  using saved = typename op_type::saved;

  /// `reduced` is the parent reduced by key per batch.
  reduced_windowed_node(dstream_graph& graph,
                        std::shared_ptr<dstream_node<value_type>> reduced,
                        reduce_function f, reduce_function inv,
                        duration window, duration slide, size_t partitions,
                        filter_function filter)
    : dstream_node<value_type>(graph, slide, {reduced.get()}),
      reduced_(std::move(reduced)),
      window_(window),
      partitions_(graph, partitions),
      state_(graph, std::make_shared<op_type>(std::move(f), std::move(inv),
                                              std::move(filter), window)) {
    this->remember(slide);
  }

  bool must_checkpoint() const noexcept override {
    return true;
  }

  std::string checkpoint_data(time t) override {
    // The newest window value and the reduced batches later slides
    // subtract (format 1: as the RDDs of the window and of its parent).
    load();
    std::pair<timed_partitions<value_type>, timed_partitions<value_type>> xs;
    std::map<int64_t, std::vector<std::vector<value_type>>> batches;
    auto parts = state_.call(state_call::save, t, partitions_());
    if (last_slide_)
      xs.first.emplace_back(last_slide_->milliseconds(),
                            std::vector<std::vector<value_type>>{});
    for (size_t i = 0; i < parts.size(); ++i) {
      for (auto& [values, kept] :
           take_block_records<saved>(std::move(parts[i]))) {
        if (last_slide_)
          xs.first.back().second.push_back(std::move(values));
        for (auto& [ms, records] : kept) {
          auto& slot = batches[ms];
          slot.resize(parts.size());
          slot[i] = std::move(records);
        }
      }
    }
    for (auto& [ms, records] : batches)
      xs.second.emplace_back(ms, std::move(records));
    // Batches since the last slide have not entered the window yet.
    auto after = last_slide_ ? *last_slide_ : this->zero_time();
    for (auto& x : save_generated(*reduced_, after, t))
      xs.second.push_back(std::move(x));
    return to_bytes(xs);
  }

  void restore_data(const std::string& bytes) override {
    std::pair<timed_partitions<value_type>, timed_partitions<value_type>> xs;
    from_bytes(bytes, xs);
    std::vector<saved> parts(partitions_());
    std::optional<time> value_time;
    if (!xs.first.empty()) {
      value_time = time{xs.first.back().first};
      auto values = repartition_by_key(std::move(xs.first.back().second),
                                       partitions_());
      for (size_t i = 0; i < partitions_(); ++i)
        parts[i].first = std::move(values[i]);
    }
    timed_partitions<value_type> pending;
    for (auto& [ms, records] : xs.second) {
      auto t = time{ms};
      // Subtracted already (older checkpoints keep one slide more).
      if (value_time && t <= *value_time - window_)
        continue;
      if (!value_time || t > *value_time) {
        pending.emplace_back(ms, std::move(records));
        continue;
      }
      auto by_part = repartition_by_key(std::move(records), partitions_());
      for (size_t i = 0; i < partitions_(); ++i)
        parts[i].second.emplace_back(ms, std::move(by_part[i]));
    }
    restore_generated(*reduced_, std::move(pending));
    std::vector<block> blocks;
    for (auto& part : parts)
      blocks.push_back(make_block(0, std::vector<saved>{std::move(part)}));
    state_.set_pending(std::move(blocks));
    last_slide_ = value_time;
  }

protected:
  std::optional<rdd<value_type>> compute(time t) override {
    load();
    // The batches since the last slide enter, those in the window only (a
    // slide longer than the window skips some); the holders drop those that
    // left.
    auto after = t - this->slide();
    if (last_slide_ && *last_slide_ < after)
      after = *last_slide_;
    after = std::max(after, t - window_);
    std::vector<std::vector<batch>> entering(partitions_());
    auto step = reduced_->slide();
    for (auto tb = after + step; tb <= t; tb = tb + step) {
      auto x = reduced_->get_or_compute(tb);
      if (!x)
        continue;
      const auto& node = *x->node();
      auto& runner = x->runner();
      node.prepare(runner);
      auto n = std::min(node.num_partitions(), partitions_());
      runner.run(n, [&](size_t i) {
        entering[i].emplace_back(tb.milliseconds(), node.materialize(i));
      });
    }
    std::vector<block> in;
    in.reserve(partitions_());
    for (auto& xs : entering)
      in.push_back(make_block(0, std::move(xs)));
    auto out = state_.call(state_call::update, t, std::move(in));
    last_slide_ = t;
    return rdd_of_blocks<value_type>(out);
  }

  duration parent_remember_duration() const noexcept override {
    // The parent's batches go to the holders as they enter; recovery needs
    // those since the last slide.
    return this->remember_duration() + this->slide();
  }

private:
  void load() {
    state_.ensure_loaded(this->zero_time(),
                         [] { return std::vector<block>{}; });
  }

  std::shared_ptr<dstream_node<value_type>> reduced_;
  duration window_;
  partition_count partitions_;
  state_stream_support state_;
  std::optional<time> last_slide_;
};

} // namespace caf_stream::detail
