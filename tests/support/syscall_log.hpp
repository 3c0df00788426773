#pragma once

#include <string>
#include <vector>

namespace support {

/// The `fsync` and `rename` calls of this process while it lives, in the
/// order they returned: "fsync <path>" (the path the file or directory has
/// in /proc/self/fd) and "rename <from> <to>" (as passed), for the calls
/// that succeeded. The test program defines both functions, which take the
/// C library's place for every caller in the process (the library's, and
/// libstdc++'s `std::filesystem::rename`), note the call while a log is
/// alive and call the C library's. One log at a time.
class syscall_log {
public:
  syscall_log();

  ~syscall_log();

  syscall_log(const syscall_log&) = delete;

  syscall_log& operator=(const syscall_log&) = delete;

  /// The calls so far that name a path under `directory`, with that prefix
  /// cut to "<dir>" ("fsync <dir>/a", "fsync <dir>").
  std::vector<std::string> calls_under(const std::string& directory) const;
};

} // namespace support
