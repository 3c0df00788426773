#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/detail/unique_fd.hpp"

namespace caf_stream::detail {

/// The checkpoint files of a directory as its one writer (a context's
/// checkpoint writer) sees them: `write` does what `write_checkpoint` does,
/// but lists the directory at its first call only and then keeps track of
/// the files it writes and deletes. Listing a directory of a dozen files
/// cost more than the rest of writing a metadata checkpoint.
class checkpoint_directory {
public:
  checkpoint_directory(std::string directory, size_t keep);

  /// Writes `x` atomically, then deletes the checkpoints beyond the newest
  /// `keep` (never one that a kept record builds on); throws `stream_error`
  /// on I/O errors. The first call also deletes the temporary files of
  /// writes that a crash cut short.
  void write(const checkpoint_record& x);

private:
  // A checkpoint file: its batch time, whether it carries state, and its
  // name.
  struct file {
    int64_t time_ms;
    bool data;
    std::string name;
  };

  std::string directory_;
  size_t keep_;
  // The checkpoint files there, newest first (a data file before a
  // metadata file of the same time); none until the first write.
  std::optional<std::vector<file>> files_;
};

/// A checkpoint directory held for one running context, so that it has one
/// writer: two applications that share a directory would mix their
/// checkpoints, and a start that begins a new write-ahead log deletes the
/// other's. It is an exclusive `flock` of the directory's `.lock` file
/// (with the holder's process id in it), which the system lifts when the
/// process ends however it ends: a driver killed and started again finds
/// the directory free.
class checkpoint_directory_lock {
public:
  /// Takes the lock of `directory`, which must exist; throws
  /// `stream_error(illegal_state)` if another process (or another lock of
  /// this one) holds it, `stream_error(bad_checkpoint)` if the lock file
  /// cannot be made there.
  explicit checkpoint_directory_lock(const std::string& directory);

  /// The name of the lock file in a checkpoint directory.
  static constexpr const char* file_name = ".lock";

private:
  unique_fd fd_;
};

} // namespace caf_stream::detail
