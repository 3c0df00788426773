#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "caf_stream/detail/hash_table.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/state_spec.hpp"

namespace caf_stream::detail {

/// Spreads a state RDD over `n` partitions by the hash of its keys, one
/// state per key, as the state streams keep it (an initial state).
template <class K, class S>
rdd<std::pair<K, S>> partition_state(const rdd<std::pair<K, S>>& x, size_t n) {
  return x.reduce_by_key([](const S& a, const S&) { return a; }, n);
}

/// The entries of `parts` spread over `n` partitions by the hash of their
/// keys (a restored state, whose partition count may have changed since).
template <class K, class E>
std::vector<std::vector<std::pair<K, E>>>
repartition_by_key(std::vector<std::vector<std::pair<K, E>>> parts, size_t n) {
  std::vector<std::vector<std::pair<K, E>>> result(n);
  for (auto& part : parts)
    for (auto& e : part)
      result[partition_of(e.first, n)].push_back(std::move(e));
  return result;
}

/// Like `repartition_by_key`, one block per partition (for `load`).
template <class K, class E>
std::vector<block>
blocks_by_key(std::vector<std::vector<std::pair<K, E>>> parts, size_t n) {
  std::vector<block> result;
  result.reserve(n);
  for (auto& part : repartition_by_key(std::move(parts), n))
    result.push_back(make_block(0, std::move(part)));
  return result;
}

/// The batch's partitions for a state stream's holders: every record in
/// the partition of its key (moved out when materialized, once), in the
/// batch's context (whose runner runs the map stage).
template <class K, class V>
rdd<std::pair<K, V>> partitioned_by_key(const rdd<std::pair<K, V>>& batch,
                                        size_t n) {
  return rdd<std::pair<K, V>>{
    std::make_shared<partition_by_node<K, V>>(batch.node(), n, true),
    batch.context()};
}

/// What both state streams do around their operator: call its holders, and
/// load the entries waiting for them (an initial state, or the state read
/// from a checkpoint) before the first batch.
class state_stream_support {
public:
  /// Registers `op` with `graph` (which sets its state id).
  state_stream_support(dstream_graph& graph, std::shared_ptr<state_operator> op)
    : op_(std::move(op)), context_(graph.context()) {
    graph.add_state_operator(op_);
  }

  /// Calls the holders of the `n` partitions with nothing to give them.
  std::vector<block> call(state_call what, time t, size_t n) const {
    return call(what, t, std::vector<block>(n));
  }

  std::vector<block> call(state_call what, time t,
                          std::vector<block> in) const {
    return context_->runner().call_state(*op_, what, t, std::move(in));
  }

  /// The batch's records in the partitions of their keys
  /// (`partitioned_by_key`), materialized. While its map stage runs,
  /// `input_shuffle(t)` names the shuffle, so that the stage may run on
  /// worker nodes.
  template <class K, class V>
  std::vector<block> partition(time t, const rdd<std::pair<K, V>>& batch,
                               size_t n) {
    auto shuffled = partitioned_by_key(batch, n);
    input_ = {t, shuffled.node()};
    try {
      auto result = materialize_blocks(shuffled);
      input_ = {};
      return result;
    } catch (...) {
      input_ = {};
      throw;
    }
  }

  /// The shuffle of batch `t` that `partition` runs, if the batch is
  /// `parent`'s RDD and another node computes it alike (a portable
  /// stream's; `dstream_node_base::portable_lineage`).
  std::shared_ptr<const rdd_node_base>
  input_shuffle(time t, const dstream_node_base& parent) const {
    return parent.portable() && input_.first == t ? input_.second : nullptr;
  }

  /// The same shuffle on another node, built anew from `parent`'s RDD of
  /// batch `t` (`dstream_node_base::portable_lineage_at`).
  template <class K, class V>
  static std::shared_ptr<const rdd_node_base>
  input_shuffle_at(time t, dstream_node<std::pair<K, V>>& parent, size_t n) {
    if (!parent.portable())
      return nullptr;
    auto batch = parent.get_or_compute(t);
    return batch ? partitioned_by_key(*batch, n).node() : nullptr;
  }

  /// Sets what the holders get before the first batch.
  void set_pending(std::vector<block> xs) {
    pending_ = std::move(xs);
    loaded_ = false;
  }

  /// Hands the pending entries (or, if none, `initial()`'s) to the holders
  /// once; a failed load is tried again with the next batch.
  template <class Initial>
  void ensure_loaded(time t, Initial initial) {
    if (loaded_)
      return;
    auto xs = pending_ ? *pending_ : initial();
    if (!xs.empty())
      call(state_call::load, t, std::move(xs));
    pending_.reset();
    loaded_ = true;
  }

private:
  std::shared_ptr<state_operator> op_;
  rdd_context_ptr context_;
  std::optional<std::vector<block>> pending_;
  bool loaded_ = false;
  std::pair<time, std::shared_ptr<const rdd_node_base>> input_;
};

/// What both state streams are: the parent's batches, shuffled by key to
/// the holders of the state's partitions, whose answers make the stream's
/// RDD; the state is checkpointed. A stream gives the holders their first
/// state (`load`).
template <class K, class V, class T>
class state_stream_node : public dstream_node<T> {
public:
  bool must_checkpoint() const noexcept override {
    return true;
  }

  std::shared_ptr<const rdd_node_base>
  portable_lineage(time t) const override {
    return state_.input_shuffle(t, *parent_);
  }

  std::shared_ptr<const rdd_node_base> portable_lineage_at(time t) override {
    return state_stream_support::input_shuffle_at(t, *parent_, partitions_());
  }

protected:
  state_stream_node(dstream_graph& graph,
                    std::shared_ptr<dstream_node<std::pair<K, V>>> parent,
                    size_t partitions, std::shared_ptr<state_operator> op)
    : dstream_node<T>(graph, parent->slide(), {parent.get()}),
      parent_(std::move(parent)),
      partitions_(graph, partitions),
      state_(graph, std::move(op)) {
    // nop
  }

  std::optional<rdd<T>> compute(time t) override {
    auto batch = parent_->get_or_compute(t);
    if (!batch)
      return std::nullopt;
    load(t);
    auto in = state_.partition(t, *batch, partitions_());
    return rdd_of_blocks<T>(state_.call(state_call::update, t, std::move(in)));
  }

  /// Gives the holders their first state before batch `t`, the first this
  /// stream runs (`state_stream_support::ensure_loaded`).
  virtual void load(time t) = 0;

  std::shared_ptr<dstream_node<std::pair<K, V>>> parent_;
  partition_count partitions_;
  state_stream_support state_;
};

/// `update_state_by_key`'s work at the holders: a partition is the state's
/// entries after the last batch, which is also the stream's output for it.
/// Each batch's partition comes record by record; the holder gathers each
/// key's values (in record order), zips the entries with them and calls the
/// function for every key of either.
template <class K, class V, class S>
struct state_update_partition {
  std::shared_ptr<const std::vector<std::pair<K, S>>> entries
    = std::make_shared<const std::vector<std::pair<K, S>>>();
  // The hash of each entry's key: a batch finds the state's keys among its
  // own without hashing them again.
  std::vector<size_t> hashes;
};

template <class K, class V, class S>
class state_update_operator final
  : public basic_state_operator<state_update_partition<K, V, S>, K, V, S> {
public:
  using entry = std::pair<K, S>;
  using entries = std::vector<entry>;
  using record = std::pair<K, V>;
  using function = std::function<std::optional<S>(
    time, const K&, const std::vector<V>&, std::optional<S>)>;

  explicit state_update_operator(function f) : f_(std::move(f)) {
    // nop
  }

  std::string signature() const override {
    return "update_state_by_key<" + type_name(typeid(K)) + ", "
           + type_name(typeid(V)) + ", " + type_name(typeid(S)) + ">";
  }

protected:
  size_t keys(const state_update_partition<K, V, S>& part) const override {
    return part.entries->size();
  }

  /// `load` adds `(key, state)` entries; `update` returns the new entries,
  /// as do `snapshot` and `save`.
  block apply(state_update_partition<K, V, S>& part, state_call what, time t,
              const block& in) const override {
    switch (what) {
      case state_call::load: {
        auto xs = block_records<entry>(in);
        auto next = std::make_shared<entries>(*part.entries);
        next->insert(next->end(), xs->begin(), xs->end());
        for (const auto& kv : *xs)
          part.hashes.push_back(hash<K>{}(kv.first));
        part.entries = std::move(next);
        return {};
      }
      case state_call::update:
        update(part, *block_records<record>(in), t);
        break;
      case state_call::snapshot:
      case state_call::save:
        break;
    }
    return make_block(0, part.entries);
  }

private:
  // A key's records in the batch, chained by index (`next`), and whether
  // the key is in the state.
  struct chain {
    size_t first;
    size_t last;
    bool in_state;
  };

  static constexpr size_t end_of_chain = static_cast<size_t>(-1);

  // Replaces the entries of `part` with the function's results.
  void update(state_update_partition<K, V, S>& part,
              const std::vector<record>& batch, time t) const {
    scratch_table<K, chain> scratch;
    auto& fresh = *scratch;
    std::vector<size_t> next(batch.size(), end_of_chain);
    for (size_t i = 0; i < batch.size(); ++i)
      fresh.upsert(
        batch[i].first, hash<K>{}(batch[i].first),
        [&] { return chain{i, i, false}; },
        [&](chain& c) {
          next[c.last] = i;
          c.last = i;
        });
    // One vector for the values of every key in turn.
    std::vector<V> values;
    auto gather = [&](const chain& c) -> const std::vector<V>& {
      values.clear();
      for (auto i = c.first; i != end_of_chain; i = next[i])
        values.push_back(batch[i].second);
      return values;
    };
    const auto& state = *part.entries;
    auto result = std::make_shared<entries>();
    result->reserve(state.size());
    std::vector<size_t> hashes;
    hashes.reserve(state.size());
    const std::vector<V> none;
    for (size_t i = 0; i < state.size(); ++i) {
      const auto& kv = state[i];
      auto h = part.hashes[i];
      auto* c = fresh.empty() ? nullptr : fresh.find(kv.first, h);
      if (c != nullptr)
        c->in_state = true;
      auto next_state = f_(t, kv.first, c != nullptr ? gather(*c) : none,
                           kv.second);
      if (next_state) {
        result->emplace_back(kv.first, std::move(*next_state));
        hashes.push_back(h);
      }
    }
    const auto& batch_keys = fresh.entries();
    for (size_t i = 0; i < batch_keys.size(); ++i) {
      const auto& [key, c] = batch_keys[i];
      if (c.in_state)
        continue;
      if (auto next_state = f_(t, key, gather(c), std::nullopt)) {
        result->emplace_back(key, std::move(*next_state));
        hashes.push_back(fresh.hash_at(i));
      }
    }
    part.entries = std::move(result);
    part.hashes = std::move(hashes);
  }

  function f_;
};

/// Spark's StateDStream (`update_state_by_key`): the state after batch `t`
/// is the previous state updated with the batch's values, per key. Only the
/// batch is shuffled; the state stays at its holders, hash-partitioned like
/// the batch.
template <class K, class V, class S>
class state_dstream_node final
  : public state_stream_node<K, V, std::pair<K, S>> {
public:
  using op_type = state_update_operator<K, V, S>;
  using function = typename op_type::function;
  using entry = std::pair<K, S>;

  state_dstream_node(dstream_graph& graph,
                     std::shared_ptr<dstream_node<std::pair<K, V>>> parent,
                     function f, size_t partitions,
                     std::optional<rdd<entry>> initial)
    : state_stream_node<K, V, entry>(graph, std::move(parent), partitions,
                                     std::make_shared<op_type>(std::move(f))),
      initial_(std::move(initial)) {
    // nop
  }

  std::string checkpoint_data(time t) override {
    // The newest state, as the state RDD of batch `t` (format 1).
    load(t);
    timed_partitions<entry> xs;
    xs.emplace_back(t.milliseconds(), std::vector<std::vector<entry>>{});
    for (auto& b : this->state_.call(state_call::save, t, this->partitions_()))
      xs.back().second.push_back(*block_records<entry>(b));
    return to_bytes(xs);
  }

  void restore_data(const std::string& bytes) override {
    timed_partitions<entry> xs;
    from_bytes(bytes, xs);
    std::vector<std::vector<entry>> newest;
    if (!xs.empty())
      newest = std::move(xs.back().second);
    this->state_.set_pending(
      blocks_by_key(std::move(newest), this->partitions_()));
  }

protected:
  void load(time t) override {
    this->state_.ensure_loaded(t, [&] {
      return initial_ ? materialize_blocks(
                          partition_state(*initial_, this->partitions_()))
                      : std::vector<block>{};
    });
  }

private:
  std::optional<rdd<entry>> initial_;
};

/// One partition of a `map_with_state` stream's state, owned by its holder.
template <class K, class S>
struct state_partition {
  struct entry {
    S value;
    time updated;
  };

  erasable_table<K, entry> entries;

  /// (time, key) of every update, oldest first, for finding timed-out keys
  /// without scanning the whole state; outdated pairs are skipped.
  std::deque<std::pair<time, K>> updates;

  /// What a batch changed, so that a batch whose function throws midway can
  /// be taken back: it leaves no trace in the partition.
  struct changes {
    /// The entries changed; the keys live in the batch's records or in
    /// `dequeued`.
    undo_log<K, entry> entries;
    /// Pairs added at the back of `updates`.
    size_t queued = 0;
    /// Pairs taken from the front of `updates`, in order.
    std::deque<std::pair<time, K>> dequeued;
  };

  /// Puts back what `x` changed, newest change first.
  void roll_back(changes& x) {
    x.entries.roll_back(entries);
    updates.erase(updates.end() - static_cast<std::ptrdiff_t>(x.queued),
                  updates.end());
    updates.insert(updates.begin(), x.dequeued.begin(), x.dequeued.end());
  }
};

/// `map_with_state`'s work at the holders: runs the function on every record
/// of a batch's partition, in order, updating the state in place, then
/// times out idle keys. Only keys with data (and timing-out keys) are
/// visited. When the function throws, the partition's changes of the batch
/// are taken back: each key's state has all of a batch's records or none.
template <class K, class V, class S, class M>
class map_with_state_operator final
  : public basic_state_operator<state_partition<K, S>, K, V, S, M> {
public:
  using spec_type = basic_state_spec<K, V, S, M>;
  using record = std::pair<K, V>;
  /// A key's state and when it was last updated (ms), as checkpoints and
  /// `load` carry it.
  using saved_entry = std::pair<K, std::pair<S, int64_t>>;

  explicit map_with_state_operator(const spec_type& spec)
    : f_(spec.function()), timeout_(spec.get_timeout()) {
    // nop
  }

  std::string signature() const override {
    return "map_with_state<" + type_name(typeid(K)) + ", "
           + type_name(typeid(V)) + ", " + type_name(typeid(S)) + ", "
           + type_name(typeid(M)) + ">";
  }

protected:
  size_t keys(const state_partition<K, S>& part) const override {
    return part.entries.size();
  }

  /// `load` adds `saved_entry`s; `update` returns the function's results;
  /// `snapshot` the `(key, state)` entries; `save` the `saved_entry`s.
  block apply(state_partition<K, S>& part, state_call what, time t,
              const block& in) const override {
    switch (what) {
      case state_call::load:
        load(part, *block_records<saved_entry>(in));
        return {};
      case state_call::update: {
        // Keeps the records alive: decoded ones live in this pointer only.
        auto batch = block_records<record>(in);
        std::vector<M> out;
        out.reserve(batch->size());
        typename partition::changes undo;
        undo.entries.reserve(batch->size());
        try {
          for (const auto& kv : *batch)
            apply(part, kv, t, out, undo);
          if (timeout_)
            time_out(part, t, t - *timeout_, out, undo);
        } catch (...) {
          part.roll_back(undo);
          throw;
        }
        return make_block(0, std::move(out));
      }
      case state_call::snapshot: {
        std::vector<std::pair<K, S>> out;
        out.reserve(part.entries.size());
        part.entries.for_each([&](const K& key, const entry& e) {
          out.emplace_back(key, e.value);
        });
        return make_block(0, std::move(out));
      }
      case state_call::save: {
        std::vector<saved_entry> out;
        out.reserve(part.entries.size());
        part.entries.for_each([&](const K& key, const entry& e) {
          out.emplace_back(key,
                           std::make_pair(e.value, e.updated.milliseconds()));
        });
        return make_block(0, std::move(out));
      }
    }
    return {};
  }

private:
  using partition = state_partition<K, S>;
  using entry = typename partition::entry;

  void load(partition& part, const std::vector<saved_entry>& xs) const {
    std::vector<std::pair<time, K>> updates;
    for (const auto& [key, e] : xs) {
      part.entries.set(key, hash<K>{}(key), entry{e.first, time{e.second}});
      if (timeout_)
        updates.emplace_back(time{e.second}, key);
    }
    std::sort(updates.begin(), updates.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    part.updates.insert(part.updates.end(), updates.begin(), updates.end());
  }

  void apply(partition& part, const record& kv, time t, std::vector<M>& out,
             typename partition::changes& undo) const {
    auto h = hash<K>{}(kv.first);
    auto* found = part.entries.find(kv.first, h);
    state<S> st{found != nullptr ? std::optional<S>{found->value}
                                 : std::nullopt,
                false};
    if (auto m = f_(t, kv.first, std::optional<V>{kv.second}, st))
      out.push_back(std::move(*m));
    if (!st.exists()) {
      if (found != nullptr) {
        undo.entries.changed(kv.first, std::move(*found));
        part.entries.erase(kv.first, h);
      }
      return;
    }
    // Spark refreshes the key's time on data when a timeout is set.
    auto touched = st.is_updated() || timeout_;
    // Once per key and batch in the timeout's queue.
    if (timeout_ && (found == nullptr || found->updated != t)) {
      part.updates.emplace_back(t, kv.first);
      ++undo.queued;
    }
    auto value = st.release();
    if (found != nullptr) {
      entry next{std::move(*value), touched ? t : found->updated};
      undo.entries.changed(kv.first, std::move(*found));
      *found = std::move(next);
    } else {
      undo.entries.added(kv.first);
      part.entries.set(kv.first, h, entry{std::move(*value), t});
    }
  }

  // Calls the function once more for keys not updated since before
  // `threshold`, then drops their state (Spark: updated < batch - timeout).
  void time_out(partition& part, time t, time threshold, std::vector<M>& out,
                typename partition::changes& undo) const {
    while (!part.updates.empty() && part.updates.front().first < threshold) {
      undo.dequeued.push_back(std::move(part.updates.front()));
      part.updates.pop_front();
      const auto& [updated, key] = undo.dequeued.back();
      auto h = hash<K>{}(key);
      auto* found = part.entries.find(key, h);
      if (found == nullptr || found->updated != updated)
        continue;
      state<S> st{found->value, true};
      if (auto m = f_(t, key, std::nullopt, st))
        out.push_back(std::move(*m));
      undo.entries.changed(key, std::move(*found));
      part.entries.erase(key, h);
    }
  }

  typename spec_type::function_type f_;
  std::optional<duration> timeout_;
};

/// Spark's MapWithStateDStream: the function's results for every record of
/// each batch. The state stays at its holders, one per partition, which
/// update it in place, so the cost of a batch grows with the batch, not
/// with the state.
template <class K, class V, class S, class M>
class map_with_state_node final : public state_stream_node<K, V, M> {
public:
  using spec_type = basic_state_spec<K, V, S, M>;
  using op_type = map_with_state_operator<K, V, S, M>;
  using saved_entry = typename op_type::saved_entry;

  map_with_state_node(dstream_graph& graph,
                      std::shared_ptr<dstream_node<std::pair<K, V>>> parent,
                      spec_type spec, size_t partitions)
    : state_stream_node<K, V, M>(graph, std::move(parent), partitions,
                                 std::make_shared<op_type>(spec)),
      spec_(std::move(spec)) {
    // nop
  }

  /// Spark's `MapWithStateDStream`: 10 slides
  /// (`DEFAULT_CHECKPOINT_DURATION_MULTIPLIER`).
  duration default_checkpoint_interval() const noexcept override {
    return this->slide() * 10;
  }

  std::string checkpoint_data(time t) override {
    load(t);
    saved xs;
    for (auto& b : this->state_.call(state_call::save, t, this->partitions_()))
      xs.push_back(take_block_records<saved_entry>(std::move(b)));
    return to_bytes(xs);
  }

  void restore_data(const std::string& bytes) override {
    saved xs;
    from_bytes(bytes, xs);
    this->state_.set_pending(
      blocks_by_key(std::move(xs), this->partitions_()));
  }

  /// The state after batch `t` (running the batch first if needed), copied.
  std::optional<rdd<std::pair<K, S>>> snapshot(time t) {
    if (!this->get_or_compute(t))
      return std::nullopt;
    return rdd_of_blocks<std::pair<K, S>>(
      this->state_.call(state_call::snapshot, t, this->partitions_()));
  }

protected:
  // Before batch `t`, the first this stream runs: the initial state's keys
  // count as updated at `t`, as Spark's `MapWithStateRDD.createFromPairRDD`
  // stamps them with the first batch's time (so a key with a 1 s timeout
  // times out two batches later, not one).
  void load(time t) override {
    this->state_.ensure_loaded(t, [&] {
      const auto& initial = spec_.get_initial_state();
      if (!initial)
        return std::vector<block>{};
      return materialize_blocks(
        partition_state(*initial, this->partitions_())
          .map_values(
            [t](const S& s) { return std::make_pair(s, t.milliseconds()); }));
    });
  }

private:
  using saved = std::vector<std::vector<saved_entry>>;

  spec_type spec_;
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
