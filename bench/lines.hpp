#pragma once

// The harness's input: 100-byte lines of words drawn from a fixed vocabulary
// with a Zipf distribution and a fixed seed, so that the in-process
// generator, the TCP load generator and the baselines see the same records.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

/// splitmix64's finalizer: spreads the bits of `x`.
inline uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// One (key, value) pair's share of an order-independent digest: answers are
/// compared as the sum of the shares of their pairs.
inline uint64_t share(const std::string& key, int64_t value) noexcept {
  return mix64(std::hash<std::string>{}(key)
               + static_cast<uint64_t>(value) * 0x9e3779b97f4a7c15ULL);
}

/// Parameters of a line source.
struct line_spec {
  size_t vocabulary = 100000;
  double zipf = 1.0; // 0: uniform
  size_t line_bytes = 100;
  uint64_t seed = 7;
};

/// The `i`-th word of the vocabulary: 3 to 9 lower-case letters.
inline std::string word(size_t i) {
  std::string w;
  auto x = mix64(i + 1);
  auto len = 3 + x % 7;
  for (size_t k = 0; k < len; ++k) {
    w += static_cast<char>('a' + (x >> (8 + 5 * k)) % 26);
  }
  return w + std::to_string(i % 10);
}

/// Draws lines as `spec` says; `next()` is deterministic for a given seed.
class line_generator {
public:
  explicit line_generator(const line_spec& spec) : spec_(spec), state_(spec.seed) {
    for (size_t i = 0; i < spec.vocabulary; ++i)
      words_.push_back(word(i));
    if (spec.zipf > 0) {
      cdf_.reserve(spec.vocabulary);
      double sum = 0;
      for (size_t i = 0; i < spec.vocabulary; ++i)
        cdf_.push_back(sum += 1.0 / std::pow(static_cast<double>(i + 1), spec.zipf));
      for (auto& c : cdf_)
        c /= sum;
    }
  }

  /// The next line: words separated by single spaces, cut to `line_bytes`.
  std::string next() {
    std::string line;
    line.reserve(spec_.line_bytes + 16);
    while (line.size() < spec_.line_bytes) {
      if (!line.empty())
        line += ' ';
      line += words_[draw()];
    }
    line.resize(spec_.line_bytes);
    line.shrink_to_fit(); // held as a receiver holds it: one exact buffer
    return line;
  }

  /// The next `n` lines.
  std::vector<std::string> lines(size_t n) {
    std::vector<std::string> result;
    result.reserve(n);
    for (size_t i = 0; i < n; ++i)
      result.push_back(next());
    return result;
  }

  const std::vector<std::string>& words() const noexcept {
    return words_;
  }

private:
  size_t draw() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    auto r = mix64(state_);
    if (cdf_.empty())
      return r % words_.size();
    auto u = static_cast<double>(r >> 11) * 0x1.0p-53;
    auto i = std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
    return std::min(static_cast<size_t>(i), words_.size() - 1);
  }

  line_spec spec_;
  uint64_t state_;
  std::vector<std::string> words_;
  std::vector<double> cdf_;
};

} // namespace bench
