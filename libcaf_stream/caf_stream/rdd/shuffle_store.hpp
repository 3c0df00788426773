#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"

namespace caf_stream {

/// Names one bucket of a shuffle (Spark's `ShuffleBlockId`): what map
/// partition `map` of shuffle `shuffle` sent to reduce partition `reduce`.
struct shuffle_block_id {
  uint64_t shuffle = 0;
  uint32_t map = 0;
  uint32_t reduce = 0;
};

namespace detail {

/// The shuffle outputs of this node's map tasks (the shuffle blocks of
/// Spark's BlockManager): each map task leaves its buckets, one per reduce
/// partition, under its shuffle and map partition; reduce tasks fetch them
/// by id. Buckets stay by pointer on this node; one that leaves it goes as
/// Boost.Serialization bytes (`bucket_bytes`). One store per process, as a
/// Spark executor has one BlockManager; thread-safe.
class shuffle_store {
public:
  /// One map task's output: `num_buckets` buckets behind `buckets` (a
  /// `std::vector<std::vector<T>>`), and how to write one as bytes (null if
  /// `T` has no serialization).
  struct map_output {
    std::shared_ptr<void> buckets;
    size_t num_buckets = 0;
    std::string (*encode)(const void* buckets, size_t index) = nullptr;
  };

  /// The store of this process.
  static shuffle_store& local();

  /// A shuffle id this store has not given out before.
  uint64_t new_shuffle() noexcept {
    return next_shuffle_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Keeps the output of map partition `map` of `shuffle`, in place of an
  /// earlier one (a map task run again).
  void put(uint64_t shuffle, size_t map, map_output x);

  /// The outputs of `shuffle`'s map partitions [0, n), in order; throws
  /// `stream_error` naming the first that is missing (its map task did not
  /// run here, or the shuffle was removed: Spark's fetch failure).
  std::vector<map_output> outputs(uint64_t shuffle, size_t n) const;

  /// Bucket `id` as bytes, for a reduce task on another node; throws
  /// `stream_error` if it is missing or its records have no serialization.
  std::string bucket_bytes(const shuffle_block_id& id) const;

  /// Drops `shuffle`'s outputs (Spark's `unregisterShuffle`): its RDD is
  /// gone, or its map stage runs again.
  void remove(uint64_t shuffle);

  /// Shuffles with outputs here.
  size_t num_shuffles() const;

private:
  mutable std::mutex mtx_;
  // By shuffle, by map partition.
  std::unordered_map<uint64_t, std::vector<map_output>> outputs_;
  std::atomic<uint64_t> next_shuffle_{1};
};

/// The map output of one shuffle of records `T` in this node's store, as a
/// shuffle's RDD holds it: a map stage starts (`reset`), its tasks `put`
/// their buckets, reduce tasks fetch bucket `reduce` of every map partition
/// (`buckets`). Removes the outputs from the store when it goes.
template <class T>
class shuffle_output {
public:
  using bucket = std::vector<T>;

  shuffle_output() = default;

  shuffle_output(const shuffle_output&) = delete;

  shuffle_output& operator=(const shuffle_output&) = delete;

  ~shuffle_output() {
    if (id_ != 0)
      shuffle_store::local().remove(id_);
  }

  /// Starts a map stage of `num_maps` map tasks under a new shuffle id,
  /// dropping the outputs of an earlier run.
  void reset(size_t num_maps) {
    auto& store = shuffle_store::local();
    if (id_ != 0)
      store.remove(id_);
    id_ = store.new_shuffle();
    num_maps_ = num_maps;
  }

  /// Whether a map task's buckets can go to another node as bytes.
  static constexpr bool serializable = is_serializable<bucket>::value;

  /// Leaves map partition `map`'s buckets, which another node computed
  /// (`to_bytes` of them), in the store; throws on malformed bytes.
  void put_bytes(size_t map, const std::string& bytes) {
    if constexpr (serializable) {
      std::vector<bucket> buckets;
      from_bytes(bytes, buckets);
      put(map, std::move(buckets));
    }
  }

  /// Leaves map partition `map`'s buckets in the store.
  void put(size_t map, std::vector<bucket> buckets) {
    shuffle_store::map_output x;
    x.num_buckets = buckets.size();
    x.buckets = std::make_shared<std::vector<bucket>>(std::move(buckets));
    if constexpr (is_serializable<bucket>::value)
      x.encode = [](const void* p, size_t i) {
        return to_bytes((*static_cast<const std::vector<bucket>*>(p))[i]);
      };
    shuffle_store::local().put(id_, map, std::move(x));
  }

  /// Bucket `reduce` of every map partition, in map order. A reduce task
  /// that consumes its input may move the records out: no other task reads
  /// its buckets.
  std::vector<std::shared_ptr<bucket>> buckets(size_t reduce) const {
    auto outputs = shuffle_store::local().outputs(id_, num_maps_);
    std::vector<std::shared_ptr<bucket>> result;
    result.reserve(outputs.size());
    for (auto& x : outputs) {
      auto& all = *static_cast<std::vector<bucket>*>(x.buckets.get());
      // Shares the map output's ownership.
      result.emplace_back(x.buckets, &all.at(reduce));
    }
    return result;
  }

  /// The shuffle's id in the store (0 before the map stage).
  uint64_t id() const noexcept {
    return id_;
  }

private:
  uint64_t id_ = 0;
  size_t num_maps_ = 0;
};

} // namespace detail

} // namespace caf_stream
