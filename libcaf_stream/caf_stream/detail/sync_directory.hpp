#pragma once

#include <string>

namespace caf_stream::detail {

/// Forces the entries of `directory` to disk: a file's `fsync` makes what
/// the file holds survive a power loss, but its name is the directory's
/// data (POSIX), so a new or renamed file needs this too. Returns false,
/// with `errno` set, if the directory cannot be opened or synced.
bool sync_directory(const std::string& directory) noexcept;

} // namespace caf_stream::detail
