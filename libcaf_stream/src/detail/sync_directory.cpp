#include "caf_stream/detail/sync_directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "caf_stream/detail/unique_fd.hpp"

namespace caf_stream::detail {

bool sync_directory(const std::string& directory) noexcept {
  unique_fd fd{::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0)
    return false;
  if (::fsync(fd.get()) == 0)
    return true;
  auto reason = errno;
  fd.reset();
  errno = reason;
  return false;
}

} // namespace caf_stream::detail
