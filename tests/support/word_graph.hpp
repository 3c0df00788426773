#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"

namespace caf_stream::test {

/// The graph of the node task tests, built alike by the driver (the test)
/// and by the worker nodes (`state_node_child --words`): each batch's word
/// counts over a queue of lines, in 3 reduce partitions.
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
    return ssc.queue_stream(std::move(lines))
      .flat_map(words_of)
      .map([](const std::string& w) { return count{w, 1}; })
      .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3);
  }
};

} // namespace caf_stream::test
