#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/rdd_data.hpp"
#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/state_spec.hpp"

namespace caf_stream::detail {

/// Spreads a state RDD over `n` partitions by the hash of its keys, one
/// state per key, as the state streams keep it (an initial state).
template <class K, class S>
rdd<std::pair<K, S>> partition_state(const rdd<std::pair<K, S>>& x, size_t n) {
  return x.reduce_by_key([](const S& a, const S&) { return a; }, n);
}

/// The new state of `update_state_by_key`: zips partition `p` of the previous
/// state with partition `p` of the batch grouped by key (both hash-partitioned
/// alike), so the state never travels through a shuffle. Calls the function
/// for every key in the state and every key of the batch.
template <class K, class V, class S>
class state_update_node final : public rdd_node<std::pair<K, S>> {
public:
  using output = std::pair<K, S>;
  using grouped = std::pair<K, std::vector<V>>;
  using function = std::function<std::optional<S>(
    time, const K&, const std::vector<V>&, std::optional<S>)>;

  state_update_node(rdd_node_ptr<output> previous, rdd_node_ptr<grouped> batch,
                    function f, time t)
    : previous_(std::move(previous)),
      batch_(std::move(batch)),
      f_(std::move(f)),
      t_(t) {
    // nop
  }

  size_t num_partitions() const override {
    return batch_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    previous_->prepare(runner);
    batch_->prepare(runner);
  }

  void compute(size_t index,
               typename rdd_node<output>::sink out) const override {
    // The batch's values per key, and whether the key is in the state.
    scratch_table<K, std::pair<std::vector<V>, bool>> scratch;
    auto& fresh = *scratch;
    batch_->compute(index, [&](const grouped& kv) {
      // Grouped: every key comes once, so there is nothing to merge.
      fresh.upsert(
        kv.first, hash<K>{}(kv.first),
        [&] { return std::make_pair(kv.second, false); }, [](auto&) {});
    });
    const std::vector<V> none;
    if (index < previous_->num_partitions())
      previous_->compute(index, [&](const output& kv) {
        // A batch without keys leaves the state's keys unhashed.
        auto* values = fresh.empty()
                         ? nullptr
                         : fresh.find(kv.first, hash<K>{}(kv.first));
        if (values != nullptr)
          values->second = true;
        auto next = f_(t_, kv.first, values != nullptr ? values->first : none,
                       kv.second);
        if (next)
          out(output{kv.first, std::move(*next)});
      });
    for (auto& kv : fresh)
      if (!kv.second.second)
        if (auto next = f_(t_, kv.first, kv.second.first, std::nullopt))
          out(output{kv.first, std::move(*next)});
  }

private:
  rdd_node_ptr<output> previous_;
  rdd_node_ptr<grouped> batch_;
  function f_;
  time t_;
};

/// Spark's StateDStream (`update_state_by_key`): the state after batch `t`
/// is the previous state updated with the batch's values, per key.
template <class K, class V, class S>
class state_dstream_node final : public dstream_node<std::pair<K, S>> {
public:
  using function = typename state_update_node<K, V, S>::function;

  state_dstream_node(dstream_graph& graph,
                     std::shared_ptr<dstream_node<std::pair<K, V>>> parent,
                     function f, size_t partitions,
                     std::optional<rdd<std::pair<K, S>>> initial)
    : dstream_node<std::pair<K, S>>(graph, parent->slide(), {parent.get()}),
      parent_(std::move(parent)),
      f_(std::move(f)),
      partitions_(partitions),
      initial_(std::move(initial)) {
    // nop
  }

  bool must_checkpoint() const noexcept override {
    return true;
  }

  std::string checkpoint_data(time t) override {
    // The newest state: the one of the last batch at or before `t`.
    return to_bytes(save_generated(*this, t - this->slide(), t));
  }

  void restore_data(const std::string& bytes) override {
    timed_partitions<std::pair<K, S>> xs;
    from_bytes(bytes, xs);
    restore_generated(*this, std::move(xs));
  }

protected:
  std::optional<rdd<std::pair<K, S>>> compute(time t) override {
    auto batch = parent_->get_or_compute(t);
    if (!batch)
      return std::nullopt;
    rdd<std::pair<K, S>> previous;
    if (auto x = this->get_or_compute(t - this->slide()))
      previous = *x;
    else if (initial_)
      previous = partition_state(*initial_, partitions_);
    auto grouped = batch->group_by_key(partitions_);
    auto node = std::make_shared<state_update_node<K, V, S>>(
      previous.node(), grouped.node(), f_, t);
    return materialize(rdd<std::pair<K, S>>{std::move(node)}, this);
  }

private:
  std::shared_ptr<dstream_node<std::pair<K, V>>> parent_;
  function f_;
  size_t partitions_;
  std::optional<rdd<std::pair<K, S>>> initial_;
};

/// One partition of a `map_with_state` stream's state. Only the task of
/// this partition touches it, one batch after the other.
template <class K, class S>
struct state_partition {
  struct entry {
    S value;
    time updated;
  };

  std::unordered_map<K, entry, hash<K>> entries;

  /// (time, key) of every update, oldest first, for finding timed-out keys
  /// without scanning the whole state; outdated pairs are skipped.
  std::deque<std::pair<time, K>> updates;
};

template <class K, class S>
using state_store = std::vector<std::shared_ptr<state_partition<K, S>>>;

/// Runs the `map_with_state` function over partition `p` of a batch grouped
/// by key, updating state partition `p` in place, then times out idle keys.
template <class K, class V, class S, class M>
class map_with_state_rdd_node final : public rdd_node<M> {
public:
  using spec_type = basic_state_spec<K, V, S, M>;
  using grouped = std::pair<K, std::vector<V>>;

  map_with_state_rdd_node(rdd_node_ptr<grouped> batch,
                          std::shared_ptr<state_store<K, S>> store,
                          const spec_type& spec, time t)
    : batch_(std::move(batch)),
      store_(std::move(store)),
      f_(spec.function()),
      timeout_(spec.get_timeout()),
      t_(t) {
    // nop
  }

  size_t num_partitions() const override {
    return batch_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    batch_->prepare(runner);
  }

  void compute(size_t index, typename rdd_node<M>::sink out) const override {
    auto& part = *(*store_)[index];
    batch_->compute(index, [&](const grouped& kv) { apply(part, kv, out); });
    if (timeout_)
      time_out(part, t_ - *timeout_, out);
  }

private:
  using partition = state_partition<K, S>;

  void apply(partition& part, const grouped& kv,
             typename rdd_node<M>::sink& out) const {
    auto i = part.entries.find(kv.first);
    std::optional<S> current;
    if (i != part.entries.end())
      current = i->second.value;
    bool touched = false;
    for (const auto& v : kv.second) {
      state<S> st{std::move(current), false};
      if (auto m = f_(t_, kv.first, std::optional<V>{v}, st))
        out(*m);
      // Spark refreshes the key's time on data when a timeout is set.
      touched = touched || st.is_updated() || (st.exists() && timeout_);
      current = st.get_option();
    }
    if (!current) {
      if (i != part.entries.end())
        part.entries.erase(i);
      return;
    }
    auto updated = touched ? t_ : i->second.updated;
    if (i != part.entries.end())
      i->second = {std::move(*current), updated};
    else
      part.entries.emplace(kv.first,
                           typename partition::entry{std::move(*current), t_});
    if (touched && timeout_)
      part.updates.emplace_back(t_, kv.first);
  }

  // Calls the function once more for keys not updated since before
  // `threshold`, then drops their state (Spark: updated < batch - timeout).
  void time_out(partition& part, time threshold,
                typename rdd_node<M>::sink& out) const {
    while (!part.updates.empty() && part.updates.front().first < threshold) {
      auto [updated, key] = std::move(part.updates.front());
      part.updates.pop_front();
      auto i = part.entries.find(key);
      if (i == part.entries.end() || i->second.updated != updated)
        continue;
      state<S> st{i->second.value, true};
      if (auto m = f_(t_, key, std::nullopt, st))
        out(*m);
      part.entries.erase(i);
    }
  }

  rdd_node_ptr<grouped> batch_;
  std::shared_ptr<state_store<K, S>> store_;
  typename spec_type::function_type f_;
  std::optional<duration> timeout_;
  time t_;
};

/// The snapshot of a state store after a batch: copies of its entries.
template <class K, class S>
class state_snapshot_node final : public rdd_node<std::pair<K, S>> {
public:
  explicit state_snapshot_node(std::shared_ptr<state_store<K, S>> store)
    : store_(std::move(store)) {
    // nop
  }

  size_t num_partitions() const override {
    return store_->size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index,
               typename rdd_node<std::pair<K, S>>::sink out) const override {
    for (const auto& kv : (*store_)[index]->entries)
      out(std::pair<K, S>{kv.first, kv.second.value});
  }

private:
  std::shared_ptr<state_store<K, S>> store_;
};

/// Spark's MapWithStateDStream: the function's results for every record of
/// each batch, with the state kept in one store per partition that the
/// batch's tasks update in place, so the cost of a batch grows with the
/// batch, not with the state.
template <class K, class V, class S, class M>
class map_with_state_node final : public dstream_node<M> {
public:
  using spec_type = basic_state_spec<K, V, S, M>;

  map_with_state_node(dstream_graph& graph,
                      std::shared_ptr<dstream_node<std::pair<K, V>>> parent,
                      spec_type spec, size_t partitions)
    : dstream_node<M>(graph, parent->slide(), {parent.get()}),
      parent_(std::move(parent)),
      spec_(std::move(spec)),
      store_(std::make_shared<state_store<K, S>>()) {
    for (size_t i = 0; i < partitions; ++i)
      store_->push_back(std::make_shared<state_partition<K, S>>());
  }

  bool must_checkpoint() const noexcept override {
    return true;
  }

  std::string checkpoint_data(time) override {
    saved xs(store_->size());
    for (size_t i = 0; i < store_->size(); ++i)
      for (const auto& [key, e] : (*store_)[i]->entries)
        xs[i].emplace_back(key, std::make_pair(e.value, e.updated.milliseconds()));
    return to_bytes(xs);
  }

  void restore_data(const std::string& bytes) override {
    saved xs;
    from_bytes(bytes, xs);
    // Hash again: the number of partitions may have changed since.
    std::vector<std::pair<time, K>> updates;
    for (auto& part : xs)
      for (auto& [key, e] : part) {
        auto& dst = *(*store_)[partition_of(key, store_->size())];
        dst.entries.insert_or_assign(
          key, typename state_partition<K, S>::entry{e.first, time{e.second}});
        if (spec_.get_timeout())
          updates.emplace_back(time{e.second}, key);
      }
    std::sort(updates.begin(), updates.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& u : updates)
      (*store_)[partition_of(u.second, store_->size())]->updates.push_back(u);
    loaded_ = true;
  }

  /// The state after batch `t` (running the batch first if needed), copied.
  std::optional<rdd<std::pair<K, S>>> snapshot(time t) {
    if (!this->get_or_compute(t))
      return std::nullopt;
    return materialize(rdd<std::pair<K, S>>{
                         std::make_shared<state_snapshot_node<K, S>>(store_)},
                       store_.get());
  }

protected:
  std::optional<rdd<M>> compute(time t) override {
    auto batch = parent_->get_or_compute(t);
    if (!batch)
      return std::nullopt;
    if (!loaded_) {
      load_initial_state();
      loaded_ = true;
    }
    auto grouped = batch->group_by_key(store_->size());
    return materialize(rdd<M>{std::make_shared<map_with_state_rdd_node<K, V, S, M>>(
                         grouped.node(), store_, spec_, t)},
                       store_.get());
  }

private:
  void load_initial_state() {
    const auto& initial = spec_.get_initial_state();
    if (!initial)
      return;
    auto parts = materialize(partition_state(*initial, store_->size()));
    const auto& node = *parts.node();
    task_runner::current().run_on_state(
      store_.get(), store_->size(), [&](size_t index) {
        auto& part = *(*store_)[index];
        node.compute(index, [&](const std::pair<K, S>& kv) {
          part.entries.emplace(kv.first, typename state_partition<K, S>::entry{
                                           kv.second, this->zero_time()});
          if (spec_.get_timeout())
            part.updates.emplace_back(this->zero_time(), kv.first);
        });
      });
  }

  using saved = std::vector<std::vector<std::pair<K, std::pair<S, int64_t>>>>;

  std::shared_ptr<dstream_node<std::pair<K, V>>> parent_;
  spec_type spec_;
  std::shared_ptr<state_store<K, S>> store_;
  bool loaded_ = false;
};

/// `state_snapshots()` of a `map_with_state` stream.
template <class K, class V, class S, class M>
class state_snapshot_dstream_node final
  : public dstream_node<std::pair<K, S>> {
public:
  using source = map_with_state_node<K, V, S, M>;

  state_snapshot_dstream_node(dstream_graph& graph,
                              std::shared_ptr<source> mapped)
    : dstream_node<std::pair<K, S>>(graph, mapped->slide(), {mapped.get()}),
      mapped_(std::move(mapped)) {
    // nop
  }

protected:
  std::optional<rdd<std::pair<K, S>>> compute(time t) override {
    return mapped_->snapshot(t);
  }

private:
  std::shared_ptr<source> mapped_;
};

} // namespace caf_stream::detail
