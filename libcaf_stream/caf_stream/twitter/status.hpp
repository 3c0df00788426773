#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "caf_stream/http/receiver.hpp"

namespace caf_stream::twitter {

/// A post of the filtered stream (the fields of an X API v2 tweet that
/// `twitter::create_stream` asks for).
struct status {
  std::string id;
  std::string text;
  std::string author_id;
  /// ISO 8601, as the API sends it ("2022-09-14T19:00:55.000Z").
  std::string created_at;
  std::string lang;
  /// The hashtags, without '#', in the order of the text.
  std::vector<std::string> hashtags;

  friend bool operator==(const status& x, const status& y) {
    return std::tie(x.id, x.text, x.author_id, x.created_at, x.lang,
                    x.hashtags)
           == std::tie(y.id, y.text, y.author_id, y.created_at, y.lang,
                       y.hashtags);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& id& text& author_id& created_at& lang& hashtags;
  }
};

/// Where and how `twitter::create_stream` connects.
struct settings {
  /// The API's base URL (a local server in tests and `--fake`).
  std::string base_url = "https://api.x.com";

  /// Timeouts, backoff and record size of the stream's connection. The API
  /// sends a keep-alive every 20 s, so a stall comes after 90 s by default.
  http::settings http;
};

namespace detail {

/// The URL of the filtered stream under `base_url`, asking for the fields
/// of `status`.
std::string stream_url(const std::string& base_url);

/// Reads one line of the filtered stream: a post gives its `status`; a line
/// holding the API's errors, or one that is not JSON or holds no post,
/// throws `std::runtime_error` saying so (the stream reports and skips it).
status parse_status(const std::string& line);

/// Makes the stream's rules (`/2/tweets/search/stream/rules`) the given
/// values: deletes the other rules and adds the missing ones. Throws
/// `stream_error` (errc::source_failure) with the API's answer if a request
/// fails.
void sync_rules(const std::string& base_url, const std::string& bearer_token,
                const std::vector<std::string>& rules,
                const http::settings& cfg);

} // namespace detail

} // namespace caf_stream::twitter
