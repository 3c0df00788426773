#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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

/// A map task's buckets as bytes, each on its own (Spark's shuffle file
/// with its index): the count `n` and the `n` buckets' sizes as 64-bit
/// numbers in this machine's byte order (every node runs the same
/// program), then each bucket's bytes. A reduce task on another node
/// fetches its own bucket alone (`bucket_spans`).
std::string frame_buckets(const std::vector<std::string>& buckets);

/// Where each bucket of a `frame_buckets` frame lies in it: offset and
/// size; throws `stream_error` if `frame` is no such frame.
std::vector<std::pair<uint64_t, uint64_t>>
bucket_spans(const std::string& frame);

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

  /// A map task's buckets as bytes, each on its own (`frame_buckets`).
  static std::string encode(const std::vector<bucket>& buckets) {
    std::vector<std::string> parts;
    if constexpr (serializable) {
      parts.reserve(buckets.size());
      for (const auto& b : buckets)
        parts.push_back(to_bytes(b));
    }
    return frame_buckets(parts);
  }

  /// Reads one bucket back from its bytes (a part of an `encode` frame);
  /// throws on malformed bytes.
  static bucket decode_bucket(std::string_view bytes) {
    bucket result;
    if constexpr (serializable)
      from_bytes(bytes, result);
    return result;
  }

  /// Leaves map partition `map`'s buckets, which another node computed
  /// (`encode`), in the store; throws on malformed bytes.
  void put_bytes(size_t map, const std::string& bytes) {
    std::vector<bucket> buckets;
    for (auto [offset, size] : bucket_spans(bytes))
      buckets.push_back(
        decode_bucket(std::string_view{bytes}.substr(offset, size)));
    put(map, std::move(buckets));
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

/// The partitions of a shuffle that reduce tasks on other nodes computed
/// (`rdd_node_base::add_reduced`), in place of its map output here.
template <class T>
class reduced_partitions {
public:
  using partition = std::shared_ptr<const std::vector<T>>;

  /// Forgets every partition: the shuffle's map stage runs (again).
  void reset(size_t num_partitions) {
    std::lock_guard<std::mutex> guard{mtx_};
    parts_.assign(num_partitions, nullptr);
  }

  /// Keeps partition `index`, `to_bytes` of its records; throws on
  /// malformed bytes.
  void put_bytes(size_t index, const std::string& bytes) {
    auto records = std::make_shared<std::vector<T>>();
    if constexpr (is_serializable<std::vector<T>>::value)
      from_bytes(bytes, *records);
    std::lock_guard<std::mutex> guard{mtx_};
    parts_.at(index) = std::move(records);
  }

  /// Partition `index`, or null if it was reduced here.
  partition get(size_t index) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return index < parts_.size() ? parts_[index] : nullptr;
  }

  /// Pushes the records of partition `index` into `out` if another node
  /// reduced it; returns whether it did.
  template <class Sink>
  bool emit(size_t index, Sink& out) const {
    auto part = get(index);
    if (!part)
      return false;
    for (const auto& x : *part)
      out(x);
    return true;
  }

private:
  mutable std::mutex mtx_;
  std::vector<partition> parts_;
};

} // namespace detail

} // namespace caf_stream
