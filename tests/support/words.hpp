#pragma once

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

} // namespace support
