#pragma once

#include <unistd.h>

#include <utility>

namespace caf_stream::detail {

/// An open file descriptor, closed with this object (or when it takes
/// another).
class unique_fd {
public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {
    // nop
  }

  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
    // nop
  }

  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }

  ~unique_fd() {
    reset();
  }

  unique_fd(const unique_fd&) = delete;

  unique_fd& operator=(const unique_fd&) = delete;

  /// The descriptor; -1 if none.
  int get() const noexcept {
    return fd_;
  }

  /// Closes the descriptor, if any, and takes `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

} // namespace caf_stream::detail
