#include "caf_stream/http/parsers.hpp"

#include <string_view>

namespace caf_stream::http::detail {

// -- line_reader --------------------------------------------------------------

line_reader::line_reader(size_t max_line) : max_line_(max_line) {
  // nop
}

void line_reader::feed(const char* data, size_t size,
                       const line_handler& on_line,
                       const error_handler& on_error) {
  scan(
    data, size, [&](std::string_view line) { on_line(std::string{line}); },
    on_error);
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

namespace {

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

} // namespace

void ndjson_parser::feed(const char* data, size_t size,
                         const record_handler& on_record,
                         const error_handler& on_error) {
  lines_.scan(
    data, size,
    [&](std::string_view line) {
      if (!blank(line))
        on_record(std::string{line});
    },
    on_error);
}

void ndjson_parser::feed_lines(const char* data, size_t size,
                               std::string& out, int64_t& count,
                               const error_handler& on_error) {
  lines_.scan(
    data, size,
    [&](std::string_view line) {
      if (blank(line))
        return;
      out.append(line);
      out += '\n';
      ++count;
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
