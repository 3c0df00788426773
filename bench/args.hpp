#pragma once

// `--name=value` options of the benchmark programs.

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// Checks the command line before the program does anything: `--help`
/// prints `usage` and exits with 0; an argument that is not `--name=value` or
/// `--name` for one of `known` is named in one sentence on stderr, with
/// `usage`, and the program exits with 2. From then on an exception that
/// nothing catches (a malformed number, say) ends the program with its
/// message and status 1 instead of an abort.
inline void check_args(int argc, char** argv, const char* usage,
                       std::initializer_list<const char*> known) {
  static std::string program;
  program = argv[0];
  program = program.substr(program.find_last_of('/') + 1);
  for (int i = 1; i < argc; ++i) {
    std::string x = argv[i];
    if (x == "--help" || x == "-h") {
      std::printf("usage: %s\n", usage);
      std::exit(0);
    }
    auto name = x.rfind("--", 0) == 0 ? x.substr(2, x.find('=') - 2) : "";
    bool ok = false;
    for (auto k : known)
      ok = ok || name == k;
    if (!ok) {
      std::fprintf(stderr, "%s: unknown argument '%s'\nusage: %s\n",
                   program.c_str(), x.c_str(), usage);
      std::exit(2);
    }
  }
  std::set_terminate([] {
    try {
      if (auto e = std::current_exception())
        std::rethrow_exception(e);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "%s: an unknown error\n", program.c_str());
    }
    std::_Exit(1);
  });
}

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
