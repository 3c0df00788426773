#pragma once

// `--name=value` options of the benchmark programs.

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// The text of `--name=...`, or `fallback`.
inline std::string arg_text(int argc, char** argv, const std::string& name,
                            const std::string& fallback) {
  auto prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]}.rfind(prefix, 0) == 0)
      return std::string{argv[i]}.substr(prefix.size());
  return fallback;
}

/// Whether the flag `--name` is present.
inline bool has_flag(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i)
    if (argv[i] == "--" + name)
      return true;
  return false;
}

/// The number in `--name=N`, or `fallback`; a malformed number is an error
/// naming the option.
inline double arg_number(int argc, char** argv, const std::string& name,
                         double fallback) {
  auto text = arg_text(argc, argv, name, "");
  if (text.empty())
    return fallback;
  std::istringstream in{text};
  double x = 0;
  if (!(in >> x) || !in.eof() || x < 0)
    throw std::invalid_argument("--" + name + ": expected a non-negative "
                                "number, got '" + text + "'");
  return x;
}

/// The value of `--name=N` as a count, or `fallback`.
inline size_t arg(int argc, char** argv, const std::string& name,
                  size_t fallback) {
  return static_cast<size_t>(
    arg_number(argc, argv, name, static_cast<double>(fallback)));
}

/// The comma-separated items of `--name=a,b,c`, or `fallback`.
inline std::vector<std::string> arg_list(int argc, char** argv,
                                         const std::string& name,
                                         const std::string& fallback) {
  std::vector<std::string> items;
  std::istringstream in{arg_text(argc, argv, name, fallback)};
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      items.push_back(item);
  return items;
}

} // namespace bench
