#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "caf_stream/flume/event.hpp"

namespace support {

/// Where the Node peers of the Flume tests and their avsc are.
inline const std::string peer_dir = CAF_STREAM_FLUME_PEER;

/// `x` as a JSON string (the tests' texts need no escapes but these).
inline std::string json_string(const std::string& x) {
  std::string result = "\"";
  for (auto c : x) {
    if (c == '"' || c == '\\')
      result += '\\';
    result += c;
  }
  return result + "\"";
}

/// `x` in hex digits, as the peers take bodies.
inline std::string hex(const std::string& x) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  for (auto c : x) {
    auto u = static_cast<unsigned char>(c);
    result += digits[u >> 4];
    result += digits[u & 0xF];
  }
  return result;
}

/// An event as the peers read it: {"headers":{...},"body":"<hex>"}.
inline std::string json_event(const caf_stream::flume::event& e) {
  std::string headers;
  for (const auto& [key, value] : e.headers)
    headers += (headers.empty() ? "" : ",") + json_string(key) + ":"
               + json_string(value);
  return "{\"headers\":{" + headers + "},\"body\":\"" + hex(e.body) + "\"}";
}

/// Events as the peers read them: a JSON array of `json_event`s.
inline std::string
json_events(const std::vector<caf_stream::flume::event>& es) {
  std::string result;
  for (const auto& e : es)
    result += (result.empty() ? "" : ",") + json_event(e);
  return "[" + result + "]";
}

/// Fails the test, saying what to run, where the peers cannot run.
inline void require_peer() {
  INFO("the Flume tests need node and avsc 5.7.9 in " + peer_dir
       + "/node_modules: run cmake/install-deps.sh");
  REQUIRE(
    std::filesystem::exists(peer_dir + "/node_modules/avsc/package.json"));
}

} // namespace support
