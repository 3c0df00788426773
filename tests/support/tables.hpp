#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "caf_stream/config.hpp"

namespace support {

/// Each batch's elements in ascending order (tables compare as sets).
template <class T>
std::vector<std::vector<T>> sorted(std::vector<std::vector<T>> xs) {
  for (auto& x : xs)
    std::sort(x.begin(), x.end());
  return xs;
}

/// Options with `workers` operator workers and `partitions` partitions per
/// batch and shuffle.
inline caf_stream::stream_options parallelism(size_t workers,
                                              size_t partitions) {
  caf_stream::stream_options opts;
  opts.workers = workers;
  opts.default_parallelism = partitions;
  return opts;
}

} // namespace support
