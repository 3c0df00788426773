#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"

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
  /// on I/O errors.
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

} // namespace caf_stream::detail
