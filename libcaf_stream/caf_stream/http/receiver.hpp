#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/http/parsers.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream::http {

/// How the body of a streaming HTTP response is cut into records.
enum class format {
  /// Newline-delimited JSON (or any text): one record per line; blank lines
  /// are keep-alives.
  ndjson,
  /// Server-sent events (`text/event-stream`): one record per event, its
  /// data; comments are keep-alives.
  sse,
};

/// Request headers, as (name, value) pairs.
using headers = std::vector<std::pair<std::string, std::string>>;

/// How an HTTP stream connects, notices stalls and reconnects.
struct settings {
  /// Headers sent with every request (`Authorization`, ...).
  http::headers headers;

  /// How long connecting may take.
  duration connect_timeout = std::chrono::seconds(30);

  /// A response that delivers no byte for this long (whole seconds, at
  /// least 1) has stalled: the connection is closed and made again.
  duration stall_timeout = std::chrono::seconds(90);

  /// The pause before the first reconnection after a failure; it doubles
  /// with every failure in a row, up to `max_backoff`. A connection that
  /// delivered records starts the count again. An SSE stream's `retry:`
  /// replaces the first pause.
  duration initial_backoff = std::chrono::seconds(1);

  /// The longest pause between reconnections.
  duration max_backoff = std::chrono::seconds(60);

  /// The longest record (a line, or an event's data): a longer one is
  /// reported and skipped.
  size_t max_record_size = 1024 * 1024;
};

namespace detail {

/// Checks a URL and settings of an HTTP stream; throws
/// `std::invalid_argument` naming `what`.
void check_request(const std::string& url, const settings& cfg,
                   const char* what);

/// The pause before reconnecting after `failures` failures in a row (1:
/// the first), doubling from `initial` up to `max`.
duration backoff(duration initial, duration max, int failures);

/// How one streaming request ended.
struct response_end {
  /// Why the stream ended (the server closed it, a stall, an HTTP error
  /// with its status and the start of its body, a connection error).
  std::string reason;
  /// Whether the body delivered any byte.
  bool received = false;
};

/// One streaming HTTP GET with libcurl (its types stay out of the headers):
/// runs until the response ends, fails or `stopping` returns true, handing
/// the body of a 2xx response to `on_body` as it arrives.
response_end stream_request(
  const std::string& url, const settings& cfg,
  const std::vector<std::string>& extra_headers,
  const std::function<void(const char*, size_t)>& on_body,
  const std::function<bool()>& stopping);

/// The answer to a plain request.
struct response {
  long status = 0;
  std::string body;
};

/// Makes one request with libcurl and reads the whole answer (up to 1 MiB;
/// `cfg` gives the headers and the timeouts, the whole request may take
/// the stall timeout). Throws `stream_error` (errc::source_failure) if no
/// answer came.
response request(const std::string& method, const std::string& url,
                 const std::vector<std::string>& extra_headers,
                 const std::string& body, const settings& cfg);

/// The receiver of an HTTP stream: a thread of its own makes the request,
/// cuts the body into records with the parser of its format, turns each
/// into a `T` with `convert` (none: skipped; a throw: reported and
/// skipped) and stores it. When the response ends for any reason it
/// restarts after a backoff, sending an SSE stream's last event id as
/// `Last-Event-ID`.
template <class T>
class http_receiver final : public threaded_receiver<T> {
public:
  /// Turns a record's text into a `T` (none: skipped). May be empty for a
  /// `T` of `std::string`: the records are the texts.
  using converter = std::function<std::optional<T>(std::string&&)>;

  /// `prepare` (if any) runs before connecting, until it once returns
  /// without throwing; a throw counts as a failed connection.
  http_receiver(std::string url, format fmt, settings cfg, converter f,
                std::function<void()> prepare = nullptr)
    : url_(std::move(url)),
      format_(fmt),
      cfg_(std::move(cfg)),
      convert_(std::move(f)),
      prepare_(std::move(prepare)) {
    if (format_ == format::sse)
      parser_.template emplace<sse_parser>(cfg_.max_record_size);
    else
      parser_.template emplace<ndjson_parser>(cfg_.max_record_size);
  }

  ~http_receiver() override {
    this->join();
  }

private:
  void receive() override {
    if (prepare_) {
      try {
        prepare_();
        prepare_ = nullptr;
      } catch (const std::exception& e) {
        retry(e.what(), cfg_.initial_backoff);
        return;
      }
    }
    std::vector<std::string> extra;
    if (auto sse = std::get_if<sse_parser>(&parser_)) {
      extra.emplace_back("Accept: text/event-stream");
      extra.emplace_back("Cache-Control: no-cache");
      if (!sse->last_event_id().empty())
        extra.emplace_back("Last-Event-ID: " + sse->last_event_id());
    }
    bool stored = false;
    auto on_record = [&](std::string&& x) {
      std::optional<T> record;
      try {
        if constexpr (std::is_same_v<T, std::string>)
          record = convert_ ? convert_(std::move(x)) : std::move(x);
        else
          record = convert_(std::move(x));
      } catch (const std::exception& e) {
        this->report_error("http " + url_ + ": a record was skipped ("
                           + e.what() + ")");
        return;
      }
      if (record) {
        this->store(std::move(*record));
        stored = true;
      }
    };
    auto on_error = [&](const std::string& what) {
      this->report_error("http " + url_ + ": " + what);
    };
    // Plain NDJSON lines go to the block as bytes (`store_lines`): no
    // string per line here, the tasks cut them.
    std::string lines;
    int64_t count = 0;
    auto on_body = [&](const char* data, size_t size) {
      if constexpr (std::is_same_v<T, std::string>) {
        if (!convert_ && format_ == format::ndjson) {
          std::get<ndjson_parser>(parser_).feed_lines(data, size, lines,
                                                      count, on_error);
          if (count > 0) {
            this->store_lines(lines.data(), lines.size(), count);
            stored = true;
            lines.clear();
            count = 0;
          }
          return;
        }
      }
      std::visit([&](auto& p) { p.feed(data, size, on_record, on_error); },
                 parser_);
    };
    auto end = stream_request(url_, cfg_, extra, on_body,
                              [this] { return this->is_stopped(); });
    if (this->is_stopped())
      return;
    auto reason = "http " + url_ + ": " + end.reason;
    std::visit(
      [&](auto& p) {
        if (p.in_record())
          reason += "; the record it cut off was dropped";
        p.reset();
      },
      parser_);
    if (stored)
      failures_ = 0;
    auto initial = cfg_.initial_backoff;
    if (auto sse = std::get_if<sse_parser>(&parser_); sse && sse->retry_ms())
      initial = duration{*sse->retry_ms()};
    retry(reason, initial);
  }

  // Restarts after the next pause of the backoff.
  void retry(const std::string& reason, duration initial) {
    ++failures_;
    this->restart(reason, backoff(initial, std::max(initial, cfg_.max_backoff),
                                  failures_));
  }

  std::string url_;
  format format_;
  settings cfg_;
  converter convert_;
  std::function<void()> prepare_;
  // Kept across restarts: an SSE stream's last event id.
  std::variant<ndjson_parser, sse_parser> parser_{std::in_place_index<0>,
                                                  size_t{0}};
  // Failures in a row, for the backoff.
  int failures_ = 0;
};

} // namespace detail

} // namespace caf_stream::http
