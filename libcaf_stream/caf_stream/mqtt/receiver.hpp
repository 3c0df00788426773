#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream::mqtt {

/// How an MQTT stream connects and subscribes (the options of Bahir's
/// `MQTTUtils.createStream`).
struct settings {
  /// The subscription's quality of service: 0 (at most once), 1 (at least
  /// once: a message is acknowledged only after `store` returned) or 2
  /// (exactly once between broker and client; libmosquitto 2.0 completes
  /// the handshake before the message is stored).
  int qos = 1;

  /// The client id; empty: "caf-stream-" and a random suffix. A session
  /// that is not clean needs a fixed one.
  std::string client_id;

  /// Whether the broker forgets the session when the client disconnects.
  /// With false (and a fixed `client_id`) it keeps the subscriptions and
  /// queues QoS 1 and 2 messages until the stream connects again, and sends
  /// again what was received but not acknowledged: nothing is lost across a
  /// restart of the receiver or the program.
  bool clean_session = true;

  /// User name and password; no user name: none sent.
  std::string username;
  std::string password;

  /// The keep-alive interval the broker is told (whole seconds, at least 5).
  duration keep_alive = std::chrono::seconds(60);

  /// How long connecting and subscribing may take before the receiver is
  /// restarted.
  duration connection_timeout = std::chrono::seconds(30);

  /// For a broker over TLS ("ssl://host:port"; Paho's SSL properties): the
  /// PEM file of the CA certificates that may sign the broker's
  /// certificate; empty: the system's (/etc/ssl/certs), as Paho uses the
  /// JVM's. The certificate must also name the URL's host.
  std::string ca_file;

  /// For a broker over TLS that asks for the client's certificate: its PEM
  /// file and its key's (both or neither).
  std::string cert_file;
  std::string key_file;
};

/// A message as it arrived.
struct message {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
};

namespace detail {

/// Where a broker listens, from "tcp://host[:port]" or "mqtt://host[:port]"
/// (port 1883 unless given), or over TLS from "ssl://host[:port]" or
/// "mqtts://host[:port]" (port 8883 unless given).
struct broker_address {
  std::string host;
  int port = 1883;
  bool tls = false;
};

/// Parses `url`; throws `std::invalid_argument` naming `what` for anything
/// but a broker address.
broker_address parse_broker_url(const std::string& url, const char* what);

/// Checks the arguments of an MQTT stream; throws `std::invalid_argument`
/// naming `what` (no topic, a malformed topic filter, a QoS other than 0,
/// 1 or 2, a session that is not clean without a client id, a keep-alive
/// under 5 s; TLS files for a broker without TLS, a client certificate
/// without its key or the other way round, a file that cannot be read).
void check_subscription(const broker_address& addr,
                        const std::vector<std::string>& topics,
                        const settings& cfg, const char* what);

/// An MQTT client connection (libmosquitto's types stay out of the
/// headers) that acknowledges messages only when told to: QoS 1
/// acknowledgements wait in the client until `acknowledge`, so that a
/// message is acknowledged only after it was stored.
class mqtt_client {
public:
  /// Connects to the broker and subscribes to `topics`, waiting up to
  /// `cfg.connection_timeout` for both; throws `stream_error`
  /// (errc::source_failure) with the reason if the broker cannot be
  /// reached, refuses the connection or refuses a subscription.
  mqtt_client(const broker_address& addr, const std::vector<std::string>& topics,
              const settings& cfg);

  /// Closes the connection without sending the acknowledgements still
  /// waiting (the broker sends those messages again to a session that is
  /// not clean).
  ~mqtt_client();

  mqtt_client(const mqtt_client&) = delete;

  mqtt_client& operator=(const mqtt_client&) = delete;

  /// Waits up to `timeout` for messages and appends what arrived, at most
  /// `max` messages, without acknowledging them. Throws `stream_error`
  /// (errc::source_failure) when the connection is lost.
  void receive(std::vector<message>& out, duration timeout, size_t max);

  /// Sends what the client holds back: the acknowledgements of the messages
  /// received so far, and keep-alive pings. Throws `stream_error`
  /// (errc::source_failure) when the connection is lost.
  void acknowledge();

  /// Sends the acknowledgements still waiting and closes the connection.
  /// The broker forgets a clean session and keeps the others for the next
  /// connection. Throws as `acknowledge` does.
  void disconnect();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The receiver of an MQTT stream: a thread of its own reads what arrives,
/// stores it and only then acknowledges it. Messages are stored one by one,
/// except with QoS 1 or 2 and the write-ahead log on: what arrived together
/// is then stored as one block, which is logged before `store` returns. A
/// lost connection restarts the receiver; a stopping receiver leaves its
/// last messages unacknowledged, for the broker to send again.
template <class T>
class mqtt_receiver final : public threaded_receiver<T> {
public:
  using converter = T (*)(message&&);

  mqtt_receiver(broker_address addr, std::vector<std::string> topics,
                settings cfg, converter f)
    : addr_(std::move(addr)),
      topics_(std::move(topics)),
      cfg_(std::move(cfg)),
      convert_(f) {
    // nop
  }

  ~mqtt_receiver() override {
    this->join();
  }

private:
  // At most this many messages go into one block.
  static constexpr size_t max_block = 10000;

  void receive() override {
    try {
      mqtt_client client{addr_, topics_, cfg_};
      std::vector<message> msgs;
      while (!this->is_stopped()) {
        msgs.clear();
        // Short waits: a stopping receiver notices within one.
        client.receive(msgs, std::chrono::milliseconds(100), max_block);
        store_all(msgs);
        // What was stored while stopping may not be processed: the broker
        // keeps it unacknowledged instead.
        if (this->is_stopped())
          return;
        client.acknowledge();
      }
      client.disconnect();
    } catch (const std::exception& e) {
      this->restart(e.what());
    }
  }

  void store_all(std::vector<message>& msgs) {
    if (cfg_.qos == 0 || !this->logs_blocks()) {
      for (auto& msg : msgs)
        this->store(convert_(std::move(msg)));
      return;
    }
    if (msgs.empty())
      return;
    std::vector<T> records;
    records.reserve(msgs.size());
    for (auto& msg : msgs)
      records.push_back(convert_(std::move(msg)));
    this->store(std::move(records));
  }

  broker_address addr_;
  std::vector<std::string> topics_;
  settings cfg_;
  converter convert_;
};

} // namespace detail

} // namespace caf_stream::mqtt
