#pragma once

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
