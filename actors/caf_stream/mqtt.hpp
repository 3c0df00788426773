#pragma once

/// MQTT streams (Bahir's `MQTTUtils`), with names in snake_case:
/// `mqtt::create_stream(ssc, broker_url, topics[, qos])` and
/// `mqtt::create_paired_stream`.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/mqtt/receiver.hpp"
#include "caf_stream/streaming_context.hpp"

namespace caf_stream::mqtt {

namespace detail {

template <class T>
dstream<T> make_stream(streaming_context& ssc, const std::string& broker_url,
                       std::vector<std::string> topics, settings cfg,
                       typename mqtt_receiver<T>::converter f,
                       const char* what) {
  auto addr = parse_broker_url(broker_url, what);
  check_subscription(addr, topics, cfg, what);
  return ssc.receiver_stream<T>(std::make_unique<mqtt_receiver<T>>(
    std::move(addr), std::move(topics), std::move(cfg), f));
}

inline std::string payload_of(message&& msg) {
  return std::move(msg.payload);
}

inline std::pair<std::string, std::string> topic_and_payload(message&& msg) {
  return {std::move(msg.topic), std::move(msg.payload)};
}

} // namespace detail

/// A stream of the payloads of the messages published to `topics` (MQTT
/// topic filters, with '+' and '#') at the broker `broker_url`
/// ("tcp://host:port", or over TLS "ssl://host:port"), subscribed with
/// `cfg.qos`. With QoS 1 a message is
/// acknowledged only after `store` returned (and after the write-ahead log
/// has it, when that is on), so a broker keeping the session (clean session
/// off) sends again what a crash left unacknowledged. Throws
/// `std::invalid_argument` at the call for a malformed address, topic
/// filter or setting.
inline dstream<std::string>
create_stream(streaming_context& ssc, const std::string& broker_url,
              std::vector<std::string> topics, settings cfg) {
  return detail::make_stream<std::string>(ssc, broker_url, std::move(topics),
                                          std::move(cfg), detail::payload_of,
                                          "mqtt::create_stream");
}

/// As `create_stream(ssc, broker_url, topics, settings)` with the default
/// settings and the quality of service `qos`.
inline dstream<std::string>
create_stream(streaming_context& ssc, const std::string& broker_url,
              std::vector<std::string> topics, int qos = 1) {
  settings cfg;
  cfg.qos = qos;
  return create_stream(ssc, broker_url, std::move(topics), std::move(cfg));
}

/// Like `create_stream`, with each payload paired with the topic it was
/// published to (Bahir's `createPairedStream`).
inline dstream<std::pair<std::string, std::string>>
create_paired_stream(streaming_context& ssc, const std::string& broker_url,
                     std::vector<std::string> topics, settings cfg) {
  return detail::make_stream<std::pair<std::string, std::string>>(
    ssc, broker_url, std::move(topics), std::move(cfg),
    detail::topic_and_payload, "mqtt::create_paired_stream");
}

/// As `create_paired_stream(ssc, broker_url, topics, settings)` with the
/// default settings and the quality of service `qos`.
inline dstream<std::pair<std::string, std::string>>
create_paired_stream(streaming_context& ssc, const std::string& broker_url,
                     std::vector<std::string> topics, int qos = 1) {
  settings cfg;
  cfg.qos = qos;
  return create_paired_stream(ssc, broker_url, std::move(topics),
                              std::move(cfg));
}

} // namespace caf_stream::mqtt
