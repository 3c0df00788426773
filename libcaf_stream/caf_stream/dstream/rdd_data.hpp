#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/rdd/rdd.hpp"

namespace caf_stream::detail {

/// The partitions of `x`, computed (for a checkpoint).
template <class T>
std::vector<std::vector<T>> partitions_of(const rdd<T>& x) {
  const auto& node = *x.node();
  node.prepare(x.runner());
  std::vector<std::vector<T>> result;
  result.reserve(node.num_partitions());
  for (size_t i = 0; i < node.num_partitions(); ++i)
    result.push_back(node.materialize(i));
  return result;
}

/// An RDD holding `parts` (restored from a checkpoint).
template <class T>
rdd<T> rdd_of(std::vector<std::vector<T>> parts) {
  std::vector<typename collection_node<T>::partition> xs;
  xs.reserve(parts.size());
  for (auto& part : parts)
    xs.push_back(std::make_shared<const std::vector<T>>(std::move(part)));
  return rdd<T>{std::make_shared<collection_node<T>>(std::move(xs))};
}

/// A stream's RDDs at several times, as checkpoints store them.
template <class T>
using timed_partitions = std::vector<std::pair<int64_t, std::vector<std::vector<T>>>>;

/// Serializes the RDDs `node` generated in `(after, upto]`.
template <class T>
timed_partitions<T> save_generated(const dstream_node<T>& node, time after,
                                   time upto) {
  timed_partitions<T> result;
  for (auto& [t, x] : node.generated_between(after, upto))
    result.emplace_back(t.milliseconds(), partitions_of(x));
  return result;
}

/// Puts RDDs saved by `save_generated` back into `node`.
template <class T>
void restore_generated(dstream_node<T>& node, timed_partitions<T> xs) {
  for (auto& [ms, parts] : xs)
    node.restore(time{ms}, rdd_of(std::move(parts)));
}

} // namespace caf_stream::detail
