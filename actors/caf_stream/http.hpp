#pragma once

/// Streaming HTTP sources: `http::create_stream(ssc, url, format[,
/// headers])` reads a long-lived response (newline-delimited JSON or
/// server-sent events) with libcurl.

#include <memory>
#include <string>
#include <utility>

#include "caf_stream/http/receiver.hpp"
#include "caf_stream/streaming_context.hpp"

namespace caf_stream::http {

/// A stream of the records a streaming HTTP GET of `url` delivers: with
/// `format::ndjson` each line that is not blank, with `format::sse` the
/// data of each event. A connection that ends (the server closes it, it
/// stalls for `cfg.stall_timeout`, it fails, or the server answers with an
/// HTTP error, reported with its status and the start of its body) is made
/// again after an exponential backoff; an SSE stream then sends its last
/// event id as `Last-Event-ID`. A record longer than `cfg.max_record_size`
/// is reported and skipped. Throws `std::invalid_argument` at the call for
/// a malformed URL, header or setting.
inline dstream<std::string> create_stream(streaming_context& ssc,
                                          const std::string& url, format fmt,
                                          settings cfg) {
  detail::check_request(url, cfg, "http::create_stream");
  return ssc.receiver_stream<std::string>(
    std::make_unique<detail::http_receiver<std::string>>(url, fmt,
                                                         std::move(cfg),
                                                         nullptr));
}

/// As `create_stream(ssc, url, fmt, settings)` with the default settings
/// and the request headers `hdrs`.
inline dstream<std::string> create_stream(streaming_context& ssc,
                                          const std::string& url, format fmt,
                                          headers hdrs = {}) {
  settings cfg;
  cfg.headers = std::move(hdrs);
  return create_stream(ssc, url, fmt, std::move(cfg));
}

} // namespace caf_stream::http
