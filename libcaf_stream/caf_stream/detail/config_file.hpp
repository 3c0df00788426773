#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace caf_stream::detail {

/// A `key = value` entry of a configuration file in CAF's INI dialect.
struct config_entry {
  /// The line of the key, counting from 1.
  size_t line = 0;
  /// The key with its section: `stream.workers` for `workers` in `[stream]`.
  std::string name;
  /// The value as written, without a comment; a list that spans several
  /// lines is joined into one.
  std::string value;
};

/// The entries of a configuration file, or where it stops being text.
struct config_file {
  std::vector<config_entry> entries;
  /// The line holding a NUL byte (0: none); the entries end before it.
  size_t nul_line = 0;
};

/// Reads the entries of a configuration file's `text`, for checking them
/// as command-line options are checked. Lines it cannot read as an entry or
/// a section are left to CAF's reader, which reports them.
config_file scan_config_file(const std::string& text);

} // namespace caf_stream::detail
