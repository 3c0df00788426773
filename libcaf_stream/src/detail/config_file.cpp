#include "caf_stream/detail/config_file.hpp"

#include <sstream>

namespace caf_stream::detail {

namespace {

// Calls `f(i)` for each index of `x` outside a quoted string (escapes
// inside quotes skipped) until `f` returns false.
template <class F>
void for_each_unquoted(const std::string& x, F f) {
  bool quoted = false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (quoted && x[i] == '\\')
      ++i;
    else if (x[i] == '"')
      quoted = !quoted;
    else if (!quoted && !f(i))
      return;
  }
}

// Whether `x` has as many '[' as ']' outside quotes: a list value that
// spans several lines is complete.
bool balanced(const std::string& x) {
  int depth = 0;
  for_each_unquoted(x, [&](size_t i) {
    depth += x[i] == '[' ? 1 : x[i] == ']' ? -1 : 0;
    return true;
  });
  return depth <= 0;
}

// `x` without a comment (from a ';' outside quotes) and surrounding blanks.
std::string strip(const std::string& x) {
  size_t end = x.size();
  for_each_unquoted(x, [&](size_t i) {
    if (x[i] != ';')
      return true;
    end = i;
    return false;
  });
  auto first = x.find_first_not_of(" \t\r");
  if (first == std::string::npos || first >= end)
    return {};
  auto last = x.find_last_not_of(" \t\r", end - 1);
  return x.substr(first, last - first + 1);
}

} // namespace

config_file scan_config_file(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream source{text};
  for (std::string line; std::getline(source, line);)
    lines.push_back(std::move(line));
  config_file result;
  auto is_text = [&](size_t i) {
    if (lines[i].find('\0') == std::string::npos)
      return true;
    result.nul_line = i + 1;
    return false;
  };
  std::string section;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!is_text(i))
      return result;
    auto line = strip(lines[i]);
    if (line.empty())
      continue;
    if (line.front() == '[' && line.back() == ']'
        && line.find('=') == std::string::npos) {
      section = strip(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    auto key = strip(line.substr(0, eq));
    config_entry entry;
    entry.line = i + 1;
    entry.name = section.empty() ? key : section + "." + key;
    entry.value = strip(line.substr(eq + 1));
    while (!balanced(entry.value) && i + 1 < lines.size()) {
      if (!is_text(++i))
        return result;
      entry.value += " " + strip(lines[i]);
    }
    result.entries.push_back(std::move(entry));
  }
  return result;
}

} // namespace caf_stream::detail
