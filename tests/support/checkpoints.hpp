#pragma once

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "caf_stream/checkpoint/checkpoint.hpp"

namespace support {

/// The checkpoint record of batch `t` (ms) of a one-input graph with 1 s
/// batches, carrying state if `t` is `data_time`.
inline caf_stream::detail::checkpoint_record record(int64_t t,
                                                    int64_t data_time) {
  caf_stream::detail::checkpoint_record x;
  x.time_ms = t;
  x.batch_interval_ms = 1000;
  x.zero_ms = 0;
  x.graph_fingerprint = "inputs=1;state=1000ms,";
  x.pending_ms = {t + 1000};
  x.data_time_ms = data_time;
  if (t == data_time)
    x.node_data = {{0, "state at " + std::to_string(t)}};
  x.input_data = {{0, "files"}};
  return x;
}

/// Waits, bounded, until the checkpoint of batch `t_ms` is on disk: the
/// checkpoint writer works off the batch path, so on a loaded machine a batch
/// can complete long before its checkpoint is written. Woken by inotify when
/// a file is renamed into the directory.
inline bool wait_for_checkpoint(const std::string& directory, int64_t t_ms) {
  namespace fs = std::filesystem;
  // Checkpoint files name their batch in 13 digits, with "-state" if they
  // carry the state.
  auto digits = std::to_string(t_ms);
  digits.insert(0, digits.size() < 13 ? 13 - digits.size() : 0, '0');
  auto name = "checkpoint-" + digits;
  auto written = [&] {
    for (auto& path : caf_stream::detail::list_checkpoints(directory))
      if (auto file = fs::path{path}.filename().string();
          file == name || file == name + "-state")
        return true;
    return false;
  };
  int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, directory.c_str(), IN_MOVED_TO) < 0)
    return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool result = false;
  while (!(result = written())) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      break;
    char events[4096];
    [[maybe_unused]] auto n = ::read(fd, events, sizeof(events));
  }
  ::close(fd);
  return result;
}

/// Deletes the checkpoints of `directory` of batches after `t_ms`, as if
/// the application died before it wrote them.
inline void remove_checkpoints_after(const std::string& directory,
                                     int64_t t_ms) {
  namespace fs = std::filesystem;
  // "checkpoint-" and 13 digits, with "-state" if they carry the state.
  for (auto& path : caf_stream::detail::list_checkpoints(directory))
    if (std::stoll(fs::path{path}.filename().string().substr(11, 13)) > t_ms)
      fs::remove(path);
}

} // namespace support
