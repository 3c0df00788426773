#pragma once

#include <sstream>
#include <string>
#include <vector>

// CAF's parser stops at the first positional argument; the examples accept
// flags anywhere, so they move the flags ahead of the positional arguments.
inline std::vector<char*> flags_first(int argc, char** argv) {
  std::vector<char*> flags{argv[0]};
  std::vector<char*> positional;
  for (int i = 1; i < argc; ++i)
    (std::string{argv[i]}.rfind("--", 0) == 0 ? flags : positional)
      .push_back(argv[i]);
  flags.insert(flags.end(), positional.begin(), positional.end());
  return flags;
}

// The words of a line, split on white space.
inline std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> result;
  std::istringstream in{line};
  for (std::string w; in >> w;)
    result.push_back(w);
  return result;
}
