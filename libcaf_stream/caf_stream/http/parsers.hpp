#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace caf_stream::http::detail {

/// Cuts a byte stream into lines ending in "\n", "\r\n" or "\r" (what both
/// NDJSON and server-sent events accept), however the bytes are split into
/// chunks. A line longer than `max_line` bytes is reported once and skipped
/// up to its end, without holding more than `max_line` bytes.
class line_reader {
public:
  using line_handler = std::function<void(std::string&&)>;

  using error_handler = std::function<void(const std::string&)>;

  explicit line_reader(size_t max_line);

  /// Feeds the next `size` bytes; calls `on_line` with each complete line
  /// (without its ending) and `on_error` for each overlong one.
  void feed(const char* data, size_t size, const line_handler& on_line,
            const error_handler& on_error);

  /// Like `feed`, with each line as a view that lives for the call only (a
  /// line that a chunk holds whole is not copied).
  template <class OnLine>
  void scan(const char* data, size_t size, OnLine&& on_line,
            const error_handler& on_error);

  /// Returns whether a line has begun and not ended yet (a connection that
  /// closes now cuts it off).
  bool in_line() const noexcept {
    return !line_.empty() || skipping_;
  }

  /// Forgets a line begun on a connection that closed.
  void reset() noexcept;

private:
  size_t max_line_;
  std::string line_;
  // Inside an overlong line, up to its end.
  bool skipping_ = false;
  // The last byte was '\r': a '\n' right after it ends nothing more.
  bool after_cr_ = false;
};

/// Newline-delimited JSON: every line that is not blank is a record; blank
/// lines are keep-alives and skipped.
class ndjson_parser {
public:
  using record_handler = std::function<void(std::string&&)>;

  using error_handler = line_reader::error_handler;

  explicit ndjson_parser(size_t max_record);

  void feed(const char* data, size_t size, const record_handler& on_record,
            const error_handler& on_error);

  /// Like `feed`, appending each record to `out` with a '\n' after it and
  /// counting it in `count` (the form `receiver::store_lines` takes).
  void feed_lines(const char* data, size_t size, std::string& out,
                  int64_t& count, const error_handler& on_error);

  /// What a connection that closes now leaves unfinished: a line cut off.
  bool in_record() const noexcept {
    return lines_.in_line();
  }

  void reset() noexcept {
    lines_.reset();
  }

private:
  line_reader lines_;
};

/// Server-sent events (the WHATWG event stream): `data:` lines make up an
/// event, which a blank line dispatches as one record (its data lines
/// joined with "\n"); `id:` sets the last event id a reconnection sends as
/// `Last-Event-ID`; `retry:` sets the reconnection delay; lines starting
/// with ':' are comments (keep-alives); `event:` names are not kept (every
/// event is a record).
class sse_parser {
public:
  using record_handler = std::function<void(std::string&&)>;

  using error_handler = line_reader::error_handler;

  explicit sse_parser(size_t max_record);

  void feed(const char* data, size_t size, const record_handler& on_record,
            const error_handler& on_error);

  /// The last event id set by the stream (empty: none).
  const std::string& last_event_id() const noexcept {
    return last_event_id_;
  }

  /// The reconnection delay the stream asked for in its last `retry:`
  /// field, in milliseconds.
  std::optional<int64_t> retry_ms() const noexcept {
    return retry_ms_;
  }

  /// Returns whether an event has begun and not been dispatched (a
  /// connection that closes now drops it, as the standard says).
  bool in_record() const noexcept {
    return lines_.in_line() || has_data_;
  }

  /// Drops the event begun on a connection that closed; the last event id
  /// stays.
  void reset() noexcept;

private:
  void on_line(std::string&& line, const record_handler& on_record,
               const error_handler& on_error);

  size_t max_record_;
  line_reader lines_;
  std::string data_;
  bool has_data_ = false;
  bool too_large_ = false;
  std::string last_event_id_;
  std::optional<int64_t> retry_ms_;
};

template <class OnLine>
void line_reader::scan(const char* data, size_t size, OnLine&& on_line,
                       const error_handler& on_error) {
  const char* pos = data;
  const char* end = data + size;
  while (pos < end) {
    if (after_cr_) {
      after_cr_ = false;
      if (*pos == '\n') {
        ++pos;
        continue;
      }
    }
    const char* stop = pos;
    while (stop < end && *stop != '\n' && *stop != '\r')
      ++stop;
    auto n = static_cast<size_t>(stop - pos);
    auto too_long = !skipping_ && line_.size() + n > max_line_;
    if (too_long) {
      on_error("a line longer than " + std::to_string(max_line_)
               + " bytes was skipped");
      line_ = std::string{};
    }
    if (stop == end) {
      // The line goes on in the next chunk.
      skipping_ = skipping_ || too_long;
      if (!skipping_)
        line_.append(pos, n);
      return;
    }
    after_cr_ = *stop == '\r';
    pos = stop + 1;
    if (skipping_ || too_long) {
      skipping_ = false;
      continue;
    }
    if (line_.empty()) {
      on_line(std::string_view{stop - n, n});
    } else {
      line_.append(stop - n, n);
      on_line(std::string_view{line_});
      line_.clear();
    }
  }
}

} // namespace caf_stream::http::detail
