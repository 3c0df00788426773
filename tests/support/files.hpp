#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace support {

/// Writes `text` to `path` and sets its modification time to `mtime_ms`
/// (milliseconds since the Unix epoch), as text_file_stream compares it with
/// batch times.
inline void write_file(const std::filesystem::path& path,
                       const std::string& text, int64_t mtime_ms) {
  namespace fs = std::filesystem;
  std::ofstream{path} << text;
  auto sys_time = std::chrono::system_clock::time_point{
    std::chrono::milliseconds{mtime_ms}};
  auto file_time = fs::file_time_type::clock::now()
                   + std::chrono::duration_cast<fs::file_time_type::duration>(
                     sys_time - std::chrono::system_clock::now());
  fs::last_write_time(path, file_time);
}

/// The current wall-clock time in whole seconds, as milliseconds since the
/// Unix epoch: where a manual clock starts when a test writes files.
inline int64_t wall_clock_second() {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  return now / 1000 * 1000;
}

} // namespace support
