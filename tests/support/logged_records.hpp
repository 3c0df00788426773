#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"

namespace support {

/// The records that the receiver write-ahead log under `checkpoint_dir`
/// holds for stream `stream_id`, block by block in the order logged.
template <class T>
std::vector<std::vector<T>> logged_blocks(const std::string& checkpoint_dir,
                                          int32_t stream_id) {
  namespace fs = std::filesystem;
  std::vector<std::vector<T>> result;
  auto dir = fs::path{checkpoint_dir} / "receivedData"
             / std::to_string(stream_id);
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return result;
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    files.push_back(e.path());
  // Segment names are zero-padded: the names sort as the segments go.
  std::sort(files.begin(), files.end());
  uint32_t segment = 0;
  for (auto& f : files) {
    std::ifstream in{f, std::ios::binary};
    std::stringstream ss;
    ss << in.rdbuf();
    auto seg = caf_stream::detail::parse_wal_segment(ss.str(), f.string());
    for (auto& [offset, payload] : seg.records)
      result.push_back(caf_stream::detail::take_block_records<T>(
        caf_stream::detail::parse_block_record(payload, stream_id, segment,
                                               offset, f.string())));
    ++segment;
  }
  return result;
}

/// A file where the write-ahead log directory of stream `stream_id` goes
/// under `checkpoint_dir`, made after the context started (a new run
/// deletes what the log held): logging a block of the stream fails, and so
/// does `store`, until `lift`.
class log_blocker {
public:
  log_blocker(const std::string& checkpoint_dir, int32_t stream_id)
    : path_(std::filesystem::path{checkpoint_dir} / "receivedData"
            / std::to_string(stream_id)) {
    std::filesystem::create_directories(path_.parent_path());
    std::ofstream{path_} << "not a directory";
  }

  ~log_blocker() {
    lift();
  }

  log_blocker(const log_blocker&) = delete;

  log_blocker& operator=(const log_blocker&) = delete;

  /// Removes the file: the log can be written again.
  void lift() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

private:
  std::filesystem::path path_;
};

} // namespace support
