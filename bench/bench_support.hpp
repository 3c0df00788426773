#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

namespace bench {

using steady = std::chrono::steady_clock;

/// The settings the benchmarks start from: the defaults, without the
/// streaming UI (its listener would add to every batch, and the figures
/// compare with runs from before it existed).
inline caf_stream::stream_options options() {
  caf_stream::stream_options result;
  result.ui_enabled = false;
  return result;
}

/// 100-byte lines of words from a fixed vocabulary of `vocabulary` words
/// (fixed seed).
inline std::vector<std::string> make_lines(size_t n, size_t vocabulary = 1000,
                                           uint64_t seed = 7) {
  std::vector<std::string> vocab;
  for (size_t i = 0; i < vocabulary; ++i)
    vocab.push_back("w" + std::to_string(i * 7919 % 1000003));
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string line;
    while (line.size() < 100) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      if (!line.empty())
        line += ' ';
      line += vocab[(seed >> 33) % vocab.size()];
    }
    line.resize(100);
    lines.push_back(std::move(line));
  }
  return lines;
}

/// Calls `f(begin, length)` for every space-separated word of `line`, without
/// copying: the hand-written baselines' tokenizer, and `split`'s.
template <class F>
void for_each_word(const std::string& line, F&& f) {
  size_t i = 0;
  auto n = line.size();
  while (i < n) {
    auto j = line.find(' ', i);
    if (j == std::string::npos)
      j = n;
    if (j > i)
      f(line.data() + i, j - i);
    i = j + 1;
  }
}

/// The words of a line (split on ' ').
inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> words;
  // One allocation for the words instead of a doubling series of them.
  words.reserve(static_cast<size_t>(std::count(line.begin(), line.end(), ' '))
                + 1);
  for_each_word(line,
                [&](const char* p, size_t n) { words.emplace_back(p, n); });
  return words;
}

inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// The sum of the counts of a batch of (word, count) pairs.
inline int64_t sum_counts(
  const caf_stream::rdd<std::pair<std::string, int64_t>>& r) {
  int64_t n = 0;
  for (auto& kv : r.collect())
    n += kv.second;
  return n;
}

/// Drives a context under a manual clock: each `next()` cuts one batch and
/// waits until the output counted it, so figures are processing time, not
/// time waiting for the batch grid.
class driver {
public:
  /// With `checkpointed`, the context checkpoints to a temporary directory
  /// (stateful pipelines need it; every batch then writes its metadata).
  explicit driver(caf_stream::stream_options opts, bool checkpointed = true)
    : clk_(std::make_shared<caf_stream::testing::manual_clock>()),
      ssc_(std::chrono::seconds(1), opts, clk_) {
    if (checkpointed)
      ssc_.checkpoint(dir_.path());
  }

  caf_stream::streaming_context& context() {
    return ssc_;
  }

  /// Call from the last output of every batch.
  void batch_done() {
    std::lock_guard<std::mutex> guard{mtx_};
    ++done_;
    cv_.notify_all();
  }

  /// Cuts `n` batches one after the other; returns their processing time.
  double run(size_t n) {
    double total = 0;
    for (size_t i = 0; i < n; ++i)
      total += next();
    return total;
  }

  /// Cuts the next batch and waits for it (blocked, so that the waiting
  /// thread leaves the cores to the runtime); returns its processing time.
  double next() {
    auto t0 = steady::now();
    clk_->advance(std::chrono::seconds(1));
    ++cut_;
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait(guard, [&] { return done_ >= cut_; });
    return seconds_since(t0);
  }

private:
  caf_stream::testing::temporary_directory dir_;
  std::shared_ptr<caf_stream::testing::manual_clock> clk_;
  caf_stream::streaming_context ssc_;
  std::mutex mtx_;
  std::condition_variable cv_;
  size_t done_ = 0;
  size_t cut_ = 0;
};

} // namespace bench
