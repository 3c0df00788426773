#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace support {

/// The whitespace-separated words of `line`: the child programs' tokenizer.
inline std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> result;
  std::istringstream in{line};
  for (std::string w; in >> w;)
    result.push_back(w);
  return result;
}

/// The word counts' `update_state_by_key` function: the running total.
inline std::optional<int64_t> running_total(const std::vector<int64_t>& xs,
                                            std::optional<int64_t> total) {
  auto n = total.value_or(0);
  for (auto x : xs)
    n += x;
  return n;
}

} // namespace support
