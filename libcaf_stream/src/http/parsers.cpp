#include "caf_stream/http/parsers.hpp"

#include <algorithm>
#include <string_view>

namespace caf_stream::http::detail {

// -- line_reader --------------------------------------------------------------

line_reader::line_reader(size_t max_line) : max_line_(max_line) {
  // nop
}

void line_reader::feed(const char* data, size_t size,
                       const line_handler& on_line,
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
    if (!skipping_) {
      auto n = static_cast<size_t>(stop - pos);
      if (line_.size() + n > max_line_) {
        on_error("a line longer than " + std::to_string(max_line_)
                 + " bytes was skipped");
        line_ = std::string{};
        skipping_ = true;
      } else {
        line_.append(pos, n);
      }
    }
    if (stop == end)
      return;
    after_cr_ = *stop == '\r';
    pos = stop + 1;
    if (skipping_) {
      skipping_ = false;
      continue;
    }
    auto line = std::move(line_);
    line_.clear();
    on_line(std::move(line));
  }
}

void line_reader::reset() noexcept {
  line_.clear();
  skipping_ = false;
  after_cr_ = false;
}

// -- ndjson_parser ------------------------------------------------------------

ndjson_parser::ndjson_parser(size_t max_record) : lines_(max_record) {
  // nop
}

void ndjson_parser::feed(const char* data, size_t size,
                         const record_handler& on_record,
                         const error_handler& on_error) {
  lines_.feed(
    data, size,
    [&](std::string&& line) {
      auto blank = std::all_of(line.begin(), line.end(),
                               [](char c) { return c == ' ' || c == '\t'; });
      if (!blank)
        on_record(std::move(line));
    },
    on_error);
}

// -- sse_parser ---------------------------------------------------------------

// A line holds a field name besides up to a whole record.
sse_parser::sse_parser(size_t max_record)
  : max_record_(max_record), lines_(max_record + 64) {
  // nop
}

void sse_parser::feed(const char* data, size_t size,
                      const record_handler& on_record,
                      const error_handler& on_error) {
  lines_.feed(
    data, size,
    [&](std::string&& line) { on_line(std::move(line), on_record, on_error); },
    on_error);
}

void sse_parser::reset() noexcept {
  lines_.reset();
  data_.clear();
  has_data_ = false;
  too_large_ = false;
}

void sse_parser::on_line(std::string&& line, const record_handler& on_record,
                         const error_handler& on_error) {
  if (line.empty()) {
    // A blank line dispatches the event.
    if (has_data_) {
      if (too_large_) {
        on_error("an event larger than " + std::to_string(max_record_)
                 + " bytes was skipped");
      } else {
        data_.pop_back(); // the '\n' after the last data line
        on_record(std::move(data_));
      }
    }
    data_.clear();
    has_data_ = false;
    too_large_ = false;
    return;
  }
  if (line.front() == ':')
    return; // a comment: keep-alive
  std::string_view field{line};
  std::string_view value;
  if (auto colon = field.find(':'); colon != std::string_view::npos) {
    value = field.substr(colon + 1);
    field = field.substr(0, colon);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (field == "data") {
    has_data_ = true;
    if (too_large_)
      return;
    // The record leaves out the '\n' after its last line.
    if (data_.size() + value.size() > max_record_) {
      too_large_ = true;
      data_ = std::string{};
      return;
    }
    data_.append(value);
    data_ += '\n';
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos)
      last_event_id_ = std::string{value};
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 18
        && value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ms_ = std::stoll(std::string{value});
  }
  // "event" and unknown fields: nothing to keep.
}

} // namespace caf_stream::http::detail
