#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <utility>

namespace caf_stream {

/// The hash that partitions keys in shuffles (`reduce_by_key`, `join`, ...).
/// Defaults to `std::hash<T>`; pairs and tuples combine their members.
/// Specialize it (or `std::hash`) for your own key types.
template <class T>
struct hash {
  size_t operator()(const T& x) const noexcept(noexcept(std::hash<T>{}(x))) {
    return std::hash<T>{}(x);
  }
};

namespace detail {

inline size_t hash_combine(size_t seed, size_t h) noexcept {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

} // namespace detail

template <class A, class B>
struct hash<std::pair<A, B>> {
  size_t operator()(const std::pair<A, B>& x) const {
    return detail::hash_combine(hash<A>{}(x.first), hash<B>{}(x.second));
  }
};

template <class... Ts>
struct hash<std::tuple<Ts...>> {
  size_t operator()(const std::tuple<Ts...>& x) const {
    size_t seed = 0;
    std::apply(
      [&](const auto&... xs) {
        ((seed = detail::hash_combine(
            seed, hash<std::decay_t<decltype(xs)>>{}(xs))),
         ...);
      },
      x);
    return seed;
  }
};

/// Spark's `HashPartitioner` on a key's `hash<K>` value `h`: the partition
/// among `n` partitions.
inline size_t partition_of_hash(size_t h, size_t n) noexcept {
  // Mix the bits: std::hash of integers is the identity on libstdc++, which
  // would put consecutive keys in consecutive partitions only by accident.
  return static_cast<size_t>(((h * 0x9e3779b97f4a7c15ULL) >> 32) % n);
}

/// Spark's `HashPartitioner`: the partition of `key` among `n` partitions.
template <class K>
size_t partition_of(const K& key, size_t n) {
  return partition_of_hash(hash<K>{}(key), n);
}

} // namespace caf_stream
