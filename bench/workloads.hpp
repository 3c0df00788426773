#pragma once

// The harness's workloads: the Discretized Streams paper's Grep, WordCount
// and TopKCount plus two stateful ones, each as a caf-stream pipeline and as
// a hand-written single-threaded loop that computes the same answer per
// batch. Answers are compared as digests (sums of `share(key, value)`), so
// neither side has to sort or ship its output.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "lines.hpp"

namespace bench {

using count = std::pair<std::string, int64_t>;
using batch_lines = std::vector<std::string>;

/// A batch's answer from a pipeline's output.
using answer_sink = std::function<void(uint64_t)>;

/// One workload of the harness.
struct workload {
  std::string name;
  std::string description;
  line_spec lines;
  /// Batches the engine-only run needs at least (windows must slide out).
  size_t min_batches = 1;
  /// Whether the pipeline keeps state (and so needs a checkpoint directory).
  bool stateful = false;
  /// A fresh hand-written baseline: called once per batch, returns its answer.
  std::function<std::function<uint64_t(const batch_lines&)>()> baseline;
  /// Attaches the pipeline to the stream of lines; calls `out` once per batch.
  std::function<void(const caf_stream::dstream<std::string>&, answer_sink)>
    pipeline;
};

/// The window of TopKCount and the windowed count, in one-second batches.
constexpr size_t window_batches = 30;

/// Lines containing the Grep pattern: a word of rank 20 (a few percent).
inline const std::string& grep_pattern() {
  static const std::string pattern = word(19);
  return pattern;
}

inline int64_t plus(int64_t a, int64_t b) {
  return a + b;
}

inline int64_t minus(int64_t a, int64_t b) {
  return a - b;
}

/// The digest of a batch of (word, count) pairs, computed in the tasks.
inline uint64_t digest(const caf_stream::rdd<count>& r) {
  return r.aggregate(
    uint64_t{0},
    [](uint64_t acc, const count& kv) { return acc + share(kv.first, kv.second); },
    [](uint64_t a, uint64_t b) { return a + b; });
}

/// Whether `a` ranks before `b` in a top-k list: higher count, then word.
inline bool ranks_before(const count& a, const count& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

/// Keeps the `k` best of `xs`, in rank order.
inline void keep_top(std::vector<count>& xs, size_t k) {
  auto n = std::min(k, xs.size());
  std::partial_sort(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n),
                    xs.end(), ranks_before);
  xs.resize(n);
}

/// An order-sensitive digest of a top-k list.
inline uint64_t digest_ranked(const std::vector<count>& xs) {
  uint64_t h = 0;
  for (auto& kv : xs)
    h = mix64(h ^ share(kv.first, kv.second));
  return h;
}

/// Word counts of a batch, tokenized in place (the baselines' counting loop).
inline void count_into(const batch_lines& lines,
                       std::unordered_map<std::string, int64_t>& counts) {
  std::string key;
  for (const auto& line : lines)
    for_each_word(line, [&](const char* p, size_t n) {
      key.assign(p, n);
      ++counts[key];
    });
}

/// A hand-written sliding window of word counts: adds each batch's counts
/// and subtracts those of the batch leaving the window, keeping the digest
/// of the window's non-zero counts up to date as it goes.
class window_counts {
public:
  void add_batch(const batch_lines& lines) {
    batches_.emplace_back();
    count_into(lines, batches_.back());
    for (auto& kv : batches_.back())
      change(kv.first, kv.second);
    if (batches_.size() > window_batches) {
      for (auto& kv : batches_.front())
        change(kv.first, -kv.second);
      batches_.pop_front();
    }
  }

  uint64_t digest() const {
    return digest_;
  }

  const std::unordered_map<std::string, int64_t>& counts() const {
    return window_;
  }

private:
  void change(const std::string& key, int64_t delta) {
    auto& v = window_[key];
    if (v != 0)
      digest_ -= share(key, v);
    v += delta;
    if (v != 0)
      digest_ += share(key, v);
    else
      window_.erase(key);
  }

  std::deque<std::unordered_map<std::string, int64_t>> batches_;
  std::unordered_map<std::string, int64_t> window_;
  uint64_t digest_ = 0;
};

/// The word pairs of a stream of lines, as Spark's WordCount builds them.
inline caf_stream::dstream<count>
word_pairs(const caf_stream::dstream<std::string>& lines) {
  return lines.flat_map(split).map(
    [](const std::string& w) { return count{w, 1}; });
}

/// The window's counts, incrementally (with the inverse function).
inline caf_stream::dstream<count>
windowed_counts(const caf_stream::dstream<std::string>& lines) {
  return word_pairs(lines).reduce_by_key_and_window(
    plus, minus, std::chrono::seconds(window_batches), std::chrono::seconds(1),
    0, [](const count& kv) { return kv.second != 0; });
}

inline std::vector<workload> all_workloads() {
  using caf_stream::dstream;
  using caf_stream::rdd;
  std::vector<workload> result;
  line_spec zipf;
  line_spec uniform_million;
  uniform_million.vocabulary = 1000000;
  uniform_million.zipf = 0;

  result.push_back(
    {"grep", "count the 100-byte lines containing a pattern", zipf, 1, false,
     [] {
       return [](const batch_lines& lines) {
         uint64_t n = 0;
         for (const auto& line : lines)
           if (line.find(grep_pattern()) != std::string::npos)
             ++n;
         return n;
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       auto pattern = grep_pattern();
       lines
         .filter([pattern](const std::string& line) {
           return line.find(pattern) != std::string::npos;
         })
         .foreach_rdd([out](const rdd<std::string>& r) {
           out(static_cast<uint64_t>(r.count()));
         });
     }});

  result.push_back(
    {"word_count", "per-batch word counts (flat_map + reduce_by_key)", zipf, 1,
     false,
     [] {
       return [](const batch_lines& lines) {
         std::unordered_map<std::string, int64_t> counts;
         count_into(lines, counts);
         uint64_t d = 0;
         for (auto& kv : counts)
           d += share(kv.first, kv.second);
         return d;
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       word_pairs(lines).reduce_by_key(plus).foreach_rdd(
         [out](const rdd<count>& r) { out(digest(r)); });
     }});

  result.push_back(
    {"top_k", "top 10 words over a 30 s window sliding every 1 s (incremental)",
     zipf, window_batches + 5, true,
     [] {
       auto w = std::make_shared<window_counts>();
       return [w](const batch_lines& lines) {
         w->add_batch(lines);
         std::vector<count> all(w->counts().begin(), w->counts().end());
         keep_top(all, 10);
         return digest_ranked(all);
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       windowed_counts(lines).foreach_rdd([out](const rdd<count>& r) {
         auto top = r.aggregate(
           std::vector<count>{},
           [](std::vector<count> acc, const count& kv) {
             acc.push_back(kv);
             if (acc.size() >= 64)
               keep_top(acc, 10);
             return acc;
           },
           [](std::vector<count> a, std::vector<count> b) {
             a.insert(a.end(), b.begin(), b.end());
             keep_top(a, 10);
             return a;
           });
         keep_top(top, 10);
         out(digest_ranked(top));
       });
     }});

  result.push_back(
    {"windowed", "word counts over a 30 s window sliding every 1 s "
                 "(reduce_by_key_and_window with the inverse)",
     zipf, window_batches + 5, true,
     [] {
       auto w = std::make_shared<window_counts>();
       return [w](const batch_lines& lines) {
         w->add_batch(lines);
         return w->digest();
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       windowed_counts(lines).foreach_rdd(
         [out](const rdd<count>& r) { out(digest(r)); });
     }});

  result.push_back(
    {"running_usbk", "running word counts over 1M keys (update_state_by_key; "
                     "the whole state is the output)",
     uniform_million, 1, true,
     [] {
       auto totals = std::make_shared<std::unordered_map<std::string, int64_t>>();
       auto d = std::make_shared<uint64_t>(0);
       return [totals, d](const batch_lines& lines) {
         std::string key;
         for (const auto& line : lines)
           for_each_word(line, [&](const char* p, size_t n) {
             key.assign(p, n);
             auto& v = (*totals)[key];
             if (v != 0)
               *d -= share(key, v);
             *d += share(key, ++v);
           });
         return *d;
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       word_pairs(lines)
         .update_state_by_key<int64_t>(
           [](const std::vector<int64_t>& xs, std::optional<int64_t> st) {
             auto n = st.value_or(0);
             for (auto x : xs)
               n += x;
             return std::optional<int64_t>{n};
           })
         .foreach_rdd([out](const rdd<count>& r) { out(digest(r)); });
     }});

  result.push_back(
    {"running_mws", "running word counts over 1M keys (map_with_state; one "
                    "output per record)",
     uniform_million, 1, true,
     [] {
       auto totals = std::make_shared<std::unordered_map<std::string, int64_t>>();
       return [totals](const batch_lines& lines) {
         uint64_t d = 0;
         std::string key;
         for (const auto& line : lines)
           for_each_word(line, [&](const char* p, size_t n) {
             key.assign(p, n);
             d += share(key, ++(*totals)[key]);
           });
         return d;
       };
     },
     [](const dstream<std::string>& lines, answer_sink out) {
       auto f = [](const std::string& w, std::optional<int64_t> x,
                   caf_stream::state<int64_t>& st) {
         st.update(st.get_option().value_or(0) + x.value_or(0));
         return count{w, st.get()};
       };
       word_pairs(lines)
         .map_with_state(caf_stream::state_spec::function(f))
         .foreach_rdd([out](const rdd<count>& r) { out(digest(r)); });
     }});
  return result;
}

} // namespace bench
