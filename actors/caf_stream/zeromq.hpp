#pragma once

/// ZeroMQ streams (Bahir's `ZeroMQUtils`), with names in snake_case:
/// `zeromq::create_stream<T>(ssc, url, topics, converter)`.

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "caf_stream/streaming_context.hpp"
#include "caf_stream/zeromq/receiver.hpp"

namespace caf_stream::zeromq {

namespace detail {

template <class T, class F>
std::unique_ptr<receiver<T>>
make_receiver(socket_kind kind, const std::string& url,
              std::vector<std::string> topics, F converter, bool connect,
              const char* what) {
  static_assert(std::is_convertible_v<std::invoke_result_t<F, const frames&>,
                                      std::vector<T>>,
                "the converter expects f(const zeromq::frames&) -> "
                "std::vector<T>");
  check_endpoint(url, what);
  return std::make_unique<zmq_receiver<T>>(kind, url, std::move(topics),
                                           std::move(converter), connect);
}

} // namespace detail

/// A stream of the messages a ZeroMQ SUB socket receives for `topics`
/// (prefixes, as ZeroMQ matches them; "" takes every message), each turned
/// into records by `converter(const frames&) -> std::vector<T>`
/// (`text_converter` for text). Connects to `url`, or binds there with
/// `connect` false. Throws `std::invalid_argument` at the call for a
/// malformed endpoint or no topic.
template <class T, class F>
dstream<T> create_stream(streaming_context& ssc, const std::string& url,
                         std::vector<std::string> topics, F converter,
                         bool connect = true) {
  if (topics.empty())
    throw std::invalid_argument("zeromq::create_stream: no topic to "
                                "subscribe to (\"\" takes every message)");
  return ssc.receiver_stream<T>(detail::make_receiver<T>(
    socket_kind::sub, url, std::move(topics), std::move(converter), connect,
    "zeromq::create_stream"));
}

/// A stream of the messages a ZeroMQ PULL socket receives (fan-in from PUSH
/// sockets, which ZeroMQ's high-water mark holds back while the stream's
/// rate holds the receiver). As `create_stream` otherwise.
template <class T, class F>
dstream<T> create_pull_stream(streaming_context& ssc, const std::string& url,
                              F converter, bool connect = true) {
  return ssc.receiver_stream<T>(detail::make_receiver<T>(
    socket_kind::pull, url, {}, std::move(converter), connect,
    "zeromq::create_pull_stream"));
}

} // namespace caf_stream::zeromq
