#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "caf_stream/hash.hpp"

namespace caf_stream::detail {

/// The by-key table of shuffles and window merges: open addressing over a
/// dense vector of entries, each with its key's hash kept. Callers pass the
/// hash, so a record is hashed once for both its table slot and its shuffle
/// partition (`partition_of_hash`). Iteration follows insertion order.
/// Entries are never removed one by one; `clear` keeps the capacity.
template <class K, class V>
class hash_table {
public:
  using value_type = std::pair<K, V>;

  size_t size() const noexcept {
    return entries_.size();
  }

  bool empty() const noexcept {
    return entries_.empty();
  }

  /// Calls `merge(value)` on the entry of `key`, or adds `(key, create())`.
  template <class Key, class Create, class Merge>
  void upsert(Key&& key, size_t h, Create&& create, Merge&& merge) {
    auto* slot = find_slot(key, h);
    if (*slot != 0) {
      merge(entries_[index_of(*slot)].second);
      return;
    }
    *slot = tag_of(h) | (entries_.size() + 1);
    entries_.emplace_back(std::forward<Key>(key), create());
    hashes_.push_back(h);
    if (entries_.size() * 2 > slots_.size())
      rehash(slots_.size() * 2);
  }

  /// The value of `key`, or `nullptr`.
  V* find(const K& key, size_t h) {
    if (slots_.empty())
      return nullptr;
    auto* slot = find_slot(key, h);
    return *slot != 0 ? &entries_[index_of(*slot)].second : nullptr;
  }

  /// The hash of entry `i` (in insertion order).
  size_t hash_at(size_t i) const noexcept {
    return hashes_[i];
  }

  std::vector<value_type>& entries() noexcept {
    return entries_;
  }

  const std::vector<value_type>& entries() const noexcept {
    return entries_;
  }

  auto begin() noexcept {
    return entries_.begin();
  }

  auto end() noexcept {
    return entries_.end();
  }

  void reserve(size_t n) {
    entries_.reserve(n);
    hashes_.reserve(n);
    size_t want = 16;
    while (want < n * 2)
      want *= 2;
    if (want > slots_.size())
      rehash(want);
  }

  /// Number of slots: what the table holds room for, twice over.
  size_t capacity() const noexcept {
    return slots_.size();
  }

  /// Removes every entry and keeps the memory. Costs what the table holds,
  /// not what it once held.
  void clear() noexcept {
    clear_slots();
    entries_.clear();
    hashes_.clear();
  }

  /// Moves the entries out (in insertion order) and empties the table; the
  /// slots keep their memory.
  std::vector<value_type> take_entries() noexcept {
    clear_slots();
    hashes_.clear();
    std::vector<value_type> result;
    result.swap(entries_);
    return result;
  }

private:
  void clear_slots() noexcept {
    if (entries_.size() * 4 < slots_.size()) {
      // Finds each entry's slot instead of sweeping them all. Slots already
      // cleared never end a probe: the entry's own slot lies further on.
      auto mask = slots_.size() - 1;
      for (size_t e = 0; e < entries_.size(); ++e) {
        auto i = home(hashes_[e]);
        while (slots_[i] == 0 || index_of(slots_[i]) != e)
          i = (i + 1) & mask;
        slots_[i] = 0;
      }
    } else {
      std::fill(slots_.begin(), slots_.end(), 0);
    }
  }

  // A slot holds the upper 32 bits of the hash and the entry's index + 1,
  // so most mismatches are found without touching the entry.
  static constexpr uint64_t index_mask = 0xffffffffULL;

  static uint64_t tag_of(size_t h) noexcept {
    return static_cast<uint64_t>(h) & ~index_mask;
  }

  static size_t index_of(uint64_t slot) noexcept {
    return static_cast<size_t>((slot & index_mask) - 1);
  }

  size_t home(size_t h) const noexcept {
    // Fibonacci hashing: the low bits of std::hash on integers are the
    // integers themselves.
    return static_cast<size_t>((h * 0x9e3779b97f4a7c15ULL) >> shift_);
  }

  template <class Key>
  uint64_t* find_slot(const Key& key, size_t h) {
    if (slots_.empty())
      rehash(16);
    auto mask = slots_.size() - 1;
    auto tag = tag_of(h);
    for (auto i = home(h);; i = (i + 1) & mask) {
      auto& slot = slots_[i];
      if (slot == 0)
        return &slot;
      if ((slot & ~index_mask) == tag && entries_[index_of(slot)].first == key)
        return &slot;
    }
  }

  void rehash(size_t num_slots) {
    slots_.assign(num_slots, 0);
    shift_ = 64;
    for (auto n = num_slots; n > 1; n /= 2)
      --shift_;
    auto mask = num_slots - 1;
    for (size_t e = 0; e < entries_.size(); ++e) {
      auto i = home(hashes_[e]);
      while (slots_[i] != 0)
        i = (i + 1) & mask;
      slots_[i] = tag_of(hashes_[e]) | (e + 1);
    }
  }

  std::vector<value_type> entries_;
  std::vector<size_t> hashes_;
  std::vector<uint64_t> slots_;
  unsigned shift_ = 64;
};

/// A `hash_table` whose entries can be removed, for state that lives across
/// batches (a window's values, `map_with_state`'s entries): a removed entry
/// stays as an empty value until the empty ones are half of the table,
/// which is then built anew, so a removal costs O(1) amortized.
template <class K, class V>
class erasable_table {
public:
  /// Number of keys with a value.
  size_t size() const noexcept {
    return table_.size() - removed_;
  }

  /// The value of `key`, or `nullptr`. Valid until the next `set` of a new
  /// key, `erase` or `retain`.
  V* find(const K& key, size_t h) {
    auto* slot = table_.find(key, h);
    return slot != nullptr && *slot ? &**slot : nullptr;
  }

  /// Sets the value of `key`.
  void set(const K& key, size_t h, V x) {
    auto* slot = table_.find(key, h);
    if (slot == nullptr) {
      table_.upsert(
        key, h, [&] { return std::optional<V>{std::move(x)}; }, [](auto&) {});
      return;
    }
    if (!*slot)
      --removed_;
    *slot = std::move(x);
  }

  /// Removes the value of `key`, if any.
  void erase(const K& key, size_t h) {
    auto* slot = table_.find(key, h);
    if (slot == nullptr || !*slot)
      return;
    slot->reset();
    ++removed_;
    compact();
  }

  /// Calls `f(key, value)` for every key with a value, in insertion order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : table_.entries())
      if (e.second)
        f(e.first, *e.second);
  }

  /// Calls `keep(key, value)` for every key with a value and removes those
  /// for which it returns false.
  template <class F>
  void retain(F&& keep) {
    for (auto& e : table_.entries())
      if (e.second && !keep(e.first, *e.second)) {
        e.second.reset();
        ++removed_;
      }
    compact();
  }

private:
  void compact() {
    if (removed_ * 2 <= table_.size())
      return;
    hash_table<K, std::optional<V>> live;
    live.reserve(size());
    auto& xs = table_.entries();
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i].second)
        live.upsert(
          std::move(xs[i].first), table_.hash_at(i),
          [&] { return std::move(xs[i].second); }, [](auto&) {});
    table_ = std::move(live);
    removed_ = 0;
  }

  hash_table<K, std::optional<V>> table_;
  size_t removed_ = 0;
};

/// What a batch changed in an `erasable_table`, so that a batch that fails
/// midway can be taken back: the previous value of each key it set or
/// erased, in order (none: the key had none). Keys are not copied: each
/// must outlive the log (in the batch's records, or a table of the
/// caller's).
template <class K, class V>
class undo_log {
public:
  void reserve(size_t n) {
    changes_.reserve(n);
  }

  /// Notes that the value of `key`, `previous` until now, changes or goes.
  void changed(const K& key, V&& previous) {
    changes_.emplace_back(&key, std::move(previous));
  }

  /// Notes that `key`, which had no value, gets one.
  void added(const K& key) {
    changes_.emplace_back(&key, std::nullopt);
  }

  /// Puts the previous values back into `table`, newest change first.
  /// Hashes each key again: a roll-back is rare, a change is not.
  void roll_back(erasable_table<K, V>& table) {
    for (auto i = changes_.rbegin(); i != changes_.rend(); ++i) {
      const auto& key = *i->first;
      auto h = hash<K>{}(key);
      if (i->second)
        table.set(key, h, std::move(*i->second));
      else
        table.erase(key, h);
    }
    changes_.clear();
  }

private:
  std::vector<std::pair<const K*, std::optional<V>>> changes_;
};

/// A worker thread's table for one batch's work (a shuffle's map or reduce
/// side, a window merge, a state update), kept from one batch to the next:
/// the same memory serves every batch instead of being allocated (and
/// page-faulted) again. A nested use on the same thread gets a table of its
/// own; a table larger than `max_kept_slots` is not kept.
template <class K, class V>
class scratch_table {
public:
  static constexpr size_t max_kept_slots = size_t{1} << 22;

  scratch_table() {
    auto& s = spare();
    if (s.in_use) {
      own_ = std::make_unique<hash_table<K, V>>();
      table_ = own_.get();
    } else {
      s.in_use = true;
      table_ = &s.table;
    }
  }

  scratch_table(const scratch_table&) = delete;

  scratch_table& operator=(const scratch_table&) = delete;

  ~scratch_table() {
    if (own_)
      return;
    if (table_->capacity() > max_kept_slots)
      *table_ = hash_table<K, V>{};
    else
      table_->clear();
    spare().in_use = false;
  }

  hash_table<K, V>& operator*() noexcept {
    return *table_;
  }

private:
  struct slot {
    hash_table<K, V> table;
    bool in_use = false;
  };

  static slot& spare() {
    thread_local slot s;
    return s;
  }

  hash_table<K, V>* table_;
  std::unique_ptr<hash_table<K, V>> own_;
};

} // namespace caf_stream::detail
