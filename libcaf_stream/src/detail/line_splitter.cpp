#include "caf_stream/detail/line_splitter.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace caf_stream::detail {

namespace {

// The length of the line [first, end) without a trailing '\r'.
size_t line_length(const char* first, const char* end) {
  auto n = static_cast<size_t>(end - first);
  return n > 0 && end[-1] == '\r' ? n - 1 : n;
}

} // namespace

line_splitter::line_splitter(size_t max_line_length, size_t buffer_size)
  // The limit is clamped so that the buffer's size (a line and its "\r\n")
  // cannot overflow.
  : max_line_length_(
    std::min(max_line_length, std::numeric_limits<size_t>::max() / 4)),
    buf_(std::max(buffer_size, size_t{1})) {
  // nop
}

void line_splitter::consume(size_t n, lines_fn store, reject_fn reject) {
  const char* first = buf_.data();
  const char* scan = first + used_; // buf_[0, used_) holds no '\n'
  const char* last = scan + n;
  if (skipping_) {
    auto nl = static_cast<const char*>(std::memchr(scan, '\n', last - scan));
    if (nl == nullptr) {
      used_ = 0;
      return;
    }
    skipping_ = false;
    first = scan = nl + 1;
  }
  // Lines [stored, first) are complete and go on together; an overlong line
  // between them is left out.
  const char* stored = first;
  int64_t count = 0;
  while (auto nl = static_cast<const char*>(
           std::memchr(scan, '\n', last - scan))) {
    if (line_length(first, nl) > max_line_length_) {
      if (count > 0)
        store(stored, static_cast<size_t>(first - stored), count);
      reject();
      stored = nl + 1;
      count = 0;
    } else {
      ++count;
    }
    first = scan = nl + 1;
  }
  if (count > 0)
    store(stored, static_cast<size_t>(first - stored), count);
  used_ = static_cast<size_t>(last - first);
  std::memmove(buf_.data(), first, used_);
  if (used_ < buf_.size())
    return;
  // One line fills the buffer: grow it up to the longest line allowed (and
  // its "\r\n"), or skip the line.
  if (used_ > max_line_length_ + 1) {
    reject();
    skipping_ = true;
    used_ = 0;
  } else {
    buf_.resize(std::min(buf_.size() * 2, max_line_length_ + 2));
  }
}

void line_splitter::finish(lines_fn store, reject_fn reject) {
  if (used_ == 0 || skipping_)
    return;
  if (line_length(buf_.data(), buf_.data() + used_) > max_line_length_) {
    reject();
  } else {
    buf_.resize(used_);
    buf_.push_back('\n');
    store(buf_.data(), buf_.size(), 1);
  }
  used_ = 0;
}

} // namespace caf_stream::detail
