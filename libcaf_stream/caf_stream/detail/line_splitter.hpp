#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "caf_stream/detail/function_ref.hpp"

namespace caf_stream::detail {

/// Cuts the bytes of a text stream into lines for `store_lines` (the framing
/// of `socket_text_stream`). A line ends in '\n'; a '\r' before the '\n' does
/// not count toward its length. A line longer than the limit is skipped up to
/// its '\n' and reported. The caller reads into `space()` and hands the byte
/// count to `consume`, which passes on the complete lines of the read, as
/// they arrived, in runs between skipped lines.
class line_splitter {
public:
  /// Takes a run of complete lines: `size` bytes holding `count` lines, each
  /// ending in '\n'.
  using lines_fn = function_ref<void(const char*, size_t, int64_t)>;

  /// Told of each line skipped for its length.
  using reject_fn = function_ref<void()>;

  /// Starts with a buffer of `buffer_size` bytes, which grows as far as a
  /// line of `max_line_length` bytes and its "\r\n" need.
  explicit line_splitter(size_t max_line_length,
                         size_t buffer_size = 64 * 1024);

  /// Where the next read goes (never empty).
  std::pair<char*, size_t> space() noexcept {
    return {buf_.data() + used_, buf_.size() - used_};
  }

  /// Takes `n` bytes read into `space()`.
  void consume(size_t n, lines_fn store, reject_fn reject);

  /// The stream ended: stores its last line if it lacks its '\n' (Spark
  /// keeps it), or reports it if it is too long.
  void finish(lines_fn store, reject_fn reject);

  /// The longest line accepted, in bytes (without "\r\n").
  size_t max_line_length() const noexcept {
    return max_line_length_;
  }

private:
  size_t max_line_length_;
  // buf_[0, used_) holds the start of a line whose '\n' has not arrived.
  std::vector<char> buf_;
  size_t used_ = 0;
  // Inside an overlong line, until its '\n'.
  bool skipping_ = false;
};

} // namespace caf_stream::detail
