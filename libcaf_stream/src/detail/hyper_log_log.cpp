#include "caf_stream/detail/hyper_log_log.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace caf_stream::detail {

namespace {

// splitmix64's finalizer: every bit of `x` moves every bit of the result.
uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

} // namespace

int hyper_log_log::precision_for(double relative_sd) {
  if (!(relative_sd > 0.000017) || std::isinf(relative_sd))
    throw std::invalid_argument("count_approx_distinct: relative_sd must be "
                                "greater than 0.000017, not "
                                + std::to_string(relative_sd));
  auto p = static_cast<int>(std::ceil(2 * std::log2(1.054 / relative_sd)));
  return std::max(p, 4);
}

hyper_log_log::hyper_log_log(int precision)
  : p_(precision), registers_(size_t{1} << precision) {
  if (precision < 4 || precision > max_precision)
    throw std::invalid_argument("hyper_log_log: precision "
                                + std::to_string(precision)
                                + " is not between 4 and "
                                + std::to_string(max_precision));
}

void hyper_log_log::add(uint64_t hash) noexcept {
  auto h = mix(hash);
  auto index = static_cast<size_t>(h >> (64 - p_));
  // The bits below the index, with a 1 past them so that the rank is at
  // most 64 - p + 1.
  auto rest = (h << p_) | (uint64_t{1} << (p_ - 1));
  auto rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void hyper_log_log::merge(const hyper_log_log& other) noexcept {
  for (size_t i = 0; i < registers_.size() && i < other.registers_.size(); ++i)
    registers_[i] = std::max(registers_[i], other.registers_[i]);
}

int64_t hyper_log_log::estimate() const {
  auto m = static_cast<double>(registers_.size());
  double sum = 0;
  size_t zeros = 0;
  for (auto r : registers_) {
    sum += std::ldexp(1.0, -static_cast<int>(r));
    if (r == 0)
      ++zeros;
  }
  double alpha;
  switch (registers_.size()) {
    case 16:
      alpha = 0.673;
      break;
    case 32:
      alpha = 0.697;
      break;
    case 64:
      alpha = 0.709;
      break;
    default:
      alpha = 0.7213 / (1 + 1.079 / m);
  }
  auto e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0)
    e = m * std::log(m / static_cast<double>(zeros));
  return static_cast<int64_t>(std::llround(e));
}

} // namespace caf_stream::detail
