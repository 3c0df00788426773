#pragma once

/// A Twitter-style stream (Spark's `TwitterUtils.createStream`, over the
/// X API v2 filtered stream): `twitter::create_stream(ssc, bearer_token,
/// rules[, settings])`.

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/http/receiver.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/twitter/status.hpp"

namespace caf_stream::twitter {

/// A stream of the posts that match `rules` (filter rules such as
/// "#cats lang:en"), read from `GET /2/tweets/search/stream` under
/// `cfg.base_url` with the app's bearer token. Before connecting the first
/// time, the receiver makes the account's stream rules exactly `rules`.
/// The stream is newline-delimited JSON with blank keep-alive lines; a line
/// that is no post (an error the API sends, malformed JSON) is reported
/// and skipped, and the connection is made again after the backoff of
/// `cfg.http` when it ends. Throws `std::invalid_argument` at the call for
/// an empty token or rule, or a malformed base URL or setting.
inline dstream<status> create_stream(streaming_context& ssc,
                                     const std::string& bearer_token,
                                     std::vector<std::string> rules,
                                     settings cfg = {}) {
  const char* what = "twitter::create_stream";
  if (bearer_token.empty())
    throw std::invalid_argument(std::string{what} + ": no bearer token");
  if (rules.empty())
    throw std::invalid_argument(std::string{what} + ": no rule (the filtered "
                                                    "stream delivers nothing "
                                                    "without one)");
  for (const auto& rule : rules)
    if (rule.empty())
      throw std::invalid_argument(std::string{what} + ": an empty rule");
  auto url = detail::stream_url(cfg.base_url);
  auto rules_cfg = cfg.http;
  cfg.http.headers.emplace_back("Authorization", "Bearer " + bearer_token);
  http::detail::check_request(url, cfg.http, what);
  auto prepare = [base = cfg.base_url, bearer_token, rules = std::move(rules),
                  rules_cfg] {
    detail::sync_rules(base, bearer_token, rules, rules_cfg);
  };
  return ssc.receiver_stream<status>(
    std::make_unique<http::detail::http_receiver<status>>(
      url, http::format::ndjson, std::move(cfg.http),
      [](std::string&& line) {
        return std::optional<status>{detail::parse_status(line)};
      },
      std::move(prepare)));
}

} // namespace caf_stream::twitter
