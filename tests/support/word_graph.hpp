#pragma once

#include <cstdint>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"

namespace caf_stream::test {

/// The graph of the node task tests, built alike by the driver (the test)
/// and by the worker nodes (`state_node_child --words`): each batch's word
/// counts over a queue of lines, in 3 reduce partitions; or a windowed count
/// and running totals over the same words (`build_stateful`,
/// `state_node_child --word-states`); or each word's count squared through
/// a join (`build_joined`, `state_node_child --word-joins`), or through a
/// join of the counts with the words (`build_mixed`, `state_node_child
/// --word-mixed`); or the word counts after a repartition (`build_moved`,
/// `state_node_child --word-moves`).
struct word_graph {
  using count = std::pair<std::string, int64_t>;

  /// The words of `line`, separated by spaces.
  static std::vector<std::string> words_of(const std::string& line) {
    std::vector<std::string> words;
    std::string w;
    for (auto c : line + " ") {
      if (c != ' ') {
        w += c;
      } else if (!w.empty()) {
        words.push_back(std::move(w));
        w.clear();
      }
    }
    return words;
  }

  static dstream<count> build(streaming_context& ssc,
                              std::shared_ptr<rdd_queue<std::string>> lines) {
    return ones(ssc, std::move(lines)).reduce_by_key(sum, 3);
  }

  /// The streams of the stateful graph (`state_node_child --word-states`).
  struct stateful {
    /// Each word's count over the last 3 batches, every batch.
    dstream<count> windowed;

    /// Each word's count since the first batch (`map_with_state`'s state
    /// after each batch).
    dstream<count> totals;
  };

  /// The stateful graph: a windowed count and running totals over the
  /// same lines (the driver needs a checkpoint directory).
  static stateful
  build_stateful(streaming_context& ssc,
                 std::shared_ptr<rdd_queue<std::string>> lines) {
    auto words = ones(ssc, std::move(lines));
    auto total = [](const std::string&, std::optional<int64_t> one,
                    state<int64_t>& st) {
      st.update(st.get_option().value_or(0) + one.value_or(0));
      return st.get();
    };
    return {words.reduce_by_key_and_window(sum, std::chrono::seconds(3),
                                           std::chrono::seconds(1), 3),
            words
              .map_with_state(state_spec::function(total).num_partitions(2))
              .state_snapshots()};
  }

  /// The joined graph: the words of each batch joined with themselves
  /// (each pair of a word's occurrences, in 3 partitions), counted per
  /// word: a word's count squared.
  static dstream<count>
  build_joined(streaming_context& ssc,
               std::shared_ptr<rdd_queue<std::string>> lines) {
    auto words = ones(ssc, std::move(lines));
    return products(words.join(words, 3));
  }

  /// The mixed graph: each batch's word counts (in 2 partitions) joined
  /// with its words (each occurrence's `(w, 1)`), in 3 partitions, then
  /// summed per word: a word's count squared, as in the joined graph. The
  /// join's map stage reads a shuffle's partitions and the input's at once.
  static dstream<count>
  build_mixed(streaming_context& ssc,
              std::shared_ptr<rdd_queue<std::string>> lines) {
    auto words = ones(ssc, std::move(lines));
    return products(words.reduce_by_key(sum, 2).join(words, 3));
  }

  /// The moved graph: each batch's words spread over 2 partitions
  /// (`repartition`), then counted in 3: the count's map stage reads the
  /// repartition's partitions.
  static dstream<count>
  build_moved(streaming_context& ssc,
              std::shared_ptr<rdd_queue<std::string>> lines) {
    return ssc.queue_stream(std::move(lines))
      .flat_map(words_of)
      .repartition(2)
      .map([](const std::string& w) { return count{w, 1}; })
      .reduce_by_key(sum, 3);
  }

private:
  static int64_t sum(int64_t a, int64_t b) {
    return a + b;
  }

  // Each word's joined values multiplied, summed per word in 3 partitions.
  static dstream<count>
  products(const dstream<std::pair<std::string, std::pair<int64_t, int64_t>>>&
             joined) {
    return joined
      .map([](const std::pair<std::string, std::pair<int64_t, int64_t>>& x) {
        return count{x.first, x.second.first * x.second.second};
      })
      .reduce_by_key(sum, 3);
  }

  static dstream<count> ones(streaming_context& ssc,
                             std::shared_ptr<rdd_queue<std::string>> lines) {
    return ssc.queue_stream(std::move(lines))
      .flat_map(words_of)
      .map([](const std::string& w) { return count{w, 1}; });
  }
};

} // namespace caf_stream::test
