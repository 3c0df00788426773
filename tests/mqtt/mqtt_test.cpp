#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <mosquitto.h>

#include "caf_stream/all.hpp"
#include "caf_stream/mqtt.hpp"
#include "caf_stream/testing.hpp"

#include "support/certificates.hpp"
#include "support/log_capture.hpp"
#include "support/logged_records.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

namespace {

// A publishing client of the test, written with libmosquitto directly:
// `publish` returns once the broker has the message (its PUBACK for QoS 1).
// Over TLS with the CA and client files of `tls` if its CA file is set.
class publisher {
public:
  explicit publisher(int port, const mqtt::settings& tls = {}) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, this);
    REQUIRE(mosq_ != nullptr);
    auto file = [](const std::string& x) {
      return x.empty() ? nullptr : x.c_str();
    };
    if (!tls.ca_file.empty())
      REQUIRE(mosquitto_tls_set(mosq_, tls.ca_file.c_str(), nullptr,
                                file(tls.cert_file), file(tls.key_file),
                                nullptr)
              == MOSQ_ERR_SUCCESS);
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* obj, int rc) {
      static_cast<publisher*>(obj)->connected_ = rc == 0;
    });
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* obj, int) {
      ++static_cast<publisher*>(obj)->acknowledged_;
    });
    REQUIRE(mosquitto_connect(mosq_, "127.0.0.1", port, 60)
            == MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 1000 && !connected_; ++i)
      REQUIRE(mosquitto_loop(mosq_, 100, 1) == MOSQ_ERR_SUCCESS);
    REQUIRE(connected_);
  }

  ~publisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_destroy(mosq_);
  }

  void publish(const std::string& topic, const std::string& payload,
               int qos = 1) {
    auto expected = acknowledged_ + 1;
    REQUIRE(mosquitto_publish(mosq_, nullptr, topic.c_str(),
                              static_cast<int>(payload.size()),
                              payload.data(), qos, false)
            == MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 1000 && acknowledged_ < expected; ++i)
      REQUIRE(mosquitto_loop(mosq_, 100, 1) == MOSQ_ERR_SUCCESS);
    REQUIRE(acknowledged_ >= expected);
  }

private:
  mosquitto* mosq_ = nullptr;
  bool connected_ = false;
  int acknowledged_ = 0;
};

template <class T>
bool contains(const std::vector<T>& xs, const T& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// A subscriber misses what is published before its subscription reached the
// broker: publish `probe` until it arrives (bounded), then drop it.
template <class T>
void join(test::pipeline<T>& p, publisher& pub, const std::string& topic,
          const T& probe, const std::string& probe_payload) {
  bool joined = false;
  for (int i = 0; i < 3000 && !joined; ++i) {
    pub.publish(topic, probe_payload);
    p.next_batch();
    joined = contains(p.elements(), probe);
  }
  REQUIRE(joined);
}

std::vector<std::string> without(std::vector<std::string> xs,
                                 const std::string& x) {
  xs.erase(std::remove(xs.begin(), xs.end(), x), xs.end());
  return xs;
}

mqtt::settings session(const std::string& client_id) {
  mqtt::settings cfg;
  cfg.client_id = client_id;
  cfg.clean_session = false;
  return cfg;
}

// Makes "broker.pem" and "broker.key" in `certs`: a certificate the CA
// signed for the address 127.0.0.1, which a TLS client checks the URL's
// host against.
void make_broker_certificate(const support::certificates& certs) {
  {
    std::ofstream ext{certs["broker.ext"]};
    ext << "subjectAltName = IP:127.0.0.1\n";
  }
  support::certificates::shell(
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 "
    "-out " + certs["broker.key"]);
  support::certificates::shell("openssl req -new -key " + certs["broker.key"]
                               + " -out " + certs["broker.csr"]
                               + " -subj /CN=broker");
  support::certificates::shell(
    "openssl x509 -req -in " + certs["broker.csr"] + " -CA " + certs["ca.pem"]
    + " -CAkey " + certs["ca.key"] + " -CAcreateserial -days 2 -extfile "
    + certs["broker.ext"] + " -out " + certs["broker.pem"]);
}

// The lines of mosquitto.conf for a TLS listener with the broker's
// certificate, asking for the clients' if `require_certificate`.
std::string tls_listener(const support::certificates& certs,
                         bool require_certificate) {
  return "cafile " + certs["ca.pem"] + "\ncertfile " + certs["broker.pem"]
         + "\nkeyfile " + certs["broker.key"] + "\nrequire_certificate "
         + (require_certificate ? "true" : "false") + "\n";
}

} // namespace

TEST_CASE("mqtt::create_stream takes the payloads of its topics",
          "[mqtt]") {
  auto qos = GENERATE(0, 1, 2);
  support::mosquitto_broker broker;
  publisher pub{broker.port()};
  test::pipeline<std::string> p;
  p.collect(mqtt::create_stream(p.context(), broker.url(),
                                {"sensors/#", "alerts"}, qos));
  p.context().start();
  join(p, pub, "sensors/probe", std::string{"hello"}, "hello");
  pub.publish("sensors/a", "a");
  pub.publish("other", "not subscribed");
  pub.publish("alerts", "c");
  pub.publish("alerts/high", "not subscribed either");
  pub.publish("sensors/b/c", "last");
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return contains(xs, std::string{"last"});
  }));
  p.context().stop();
  // One publisher, one connection: in the order published.
  CHECK(without(p.elements(), "hello")
        == std::vector<std::string>{"a", "c", "last"});
}

TEST_CASE("mqtt::create_paired_stream pairs each payload with its topic",
          "[mqtt]") {
  using pair = std::pair<std::string, std::string>;
  support::mosquitto_broker broker;
  publisher pub{broker.port()};
  test::pipeline<pair> p;
  p.collect(mqtt::create_paired_stream(p.context(), broker.url(), {"+/t"}));
  p.context().start();
  join(p, pub, "probe/t", pair{"probe/t", "hello"}, "hello");
  pub.publish("a/t", "1");
  pub.publish("a/t/deeper", "not subscribed");
  pub.publish("b/t", std::string{"bin\0ary", 7});
  REQUIRE(p.run_until([](const std::vector<pair>& xs) {
    return contains(xs, pair{"b/t", std::string{"bin\0ary", 7}});
  }));
  p.context().stop();
  auto xs = p.elements();
  xs.erase(std::remove(xs.begin(), xs.end(), pair{"probe/t", "hello"}),
           xs.end());
  CHECK(xs
        == std::vector<pair>{{"a/t", "1"}, {"b/t", std::string{"bin\0ary", 7}}});
}

TEST_CASE("an MQTT client acknowledges QoS 1 messages only when told to",
          "[mqtt]") {
  using mqtt::detail::mqtt_client;
  support::mosquitto_broker broker;
  auto addr = mqtt::detail::parse_broker_url(broker.url(), "test");
  auto cfg = session("caf-stream-test-ack");
  std::vector<mqtt::message> got;
  auto receive_until = [&](mqtt_client& client, const std::string& last) {
    got.clear();
    for (int i = 0; i < 1000; ++i) {
      client.receive(got, std::chrono::milliseconds(100), 100);
      if (!got.empty() && got.back().payload == last)
        return;
    }
    FAIL("'" << last << "' did not arrive");
  };
  auto payloads = [&] {
    std::vector<std::string> result;
    for (auto& m : got)
      result.push_back(m.topic + "=" + m.payload);
    return result;
  };
  // The broker keeps the session and its subscription from here on.
  { mqtt_client first{addr, {"t"}, cfg}; }
  publisher pub{broker.port()};
  for (auto x : {"1", "2", "3"})
    pub.publish("t", x);
  {
    mqtt_client second{addr, {"t"}, cfg};
    receive_until(second, "3");
    CHECK(payloads() == std::vector<std::string>{"t=1", "t=2", "t=3"});
    // Gone without acknowledging: the broker keeps the three.
  }
  {
    mqtt_client third{addr, {"t"}, cfg};
    receive_until(third, "3");
    CHECK(payloads() == std::vector<std::string>{"t=1", "t=2", "t=3"});
    third.acknowledge();
    third.disconnect();
  }
  mqtt_client fourth{addr, {"t"}, cfg};
  pub.publish("t", "4");
  // Acknowledged messages are not sent again: the next one comes first.
  receive_until(fourth, "4");
  CHECK(payloads() == std::vector<std::string>{"t=4"});
}

TEST_CASE("an MQTT stream with a kept session loses nothing across a stop",
          "[mqtt]") {
  support::mosquitto_broker broker;
  publisher pub{broker.port()};
  auto cfg = session("caf-stream-test-restart");
  std::set<std::string> seen;
  {
    test::pipeline<std::string> p;
    p.collect(mqtt::create_stream(p.context(), broker.url(), {"n"}, cfg));
    p.context().start();
    join(p, pub, "n", std::string{"hello"}, "hello");
    for (int i = 1; i <= 100; ++i)
      pub.publish("n", std::to_string(i));
    REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
      return xs.size() > 20;
    }));
    // Stopped while messages are still arriving.
    p.stop_gracefully();
    auto xs = p.elements();
    seen.insert(xs.begin(), xs.end());
  }
  for (int i = 101; i <= 150; ++i)
    pub.publish("n", std::to_string(i));
  test::pipeline<std::string> p;
  p.collect(mqtt::create_stream(p.context(), broker.url(), {"n"}, cfg));
  p.context().start();
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return contains(xs, std::string{"150"});
  }));
  p.context().stop();
  auto xs = p.elements();
  seen.insert(xs.begin(), xs.end());
  std::set<std::string> expected{"hello"};
  for (int i = 1; i <= 150; ++i)
    expected.insert(std::to_string(i));
  CHECK(seen == expected);
}

TEST_CASE("with the write-ahead log on, an MQTT stream acknowledges what "
          "it logged",
          "[mqtt][wal]") {
  support::mosquitto_broker broker;
  publisher pub{broker.port()};
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  test::pipeline<std::string> p{opts};
  p.context().checkpoint(dir.path());
  p.collect(mqtt::create_stream(p.context(), broker.url(), {"n"},
                                session("caf-stream-test-wal")));
  p.context().start();
  join(p, pub, "n", std::string{"hello"}, "hello");
  for (int i = 1; i <= 50; ++i)
    pub.publish("n", std::to_string(i));
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return contains(xs, std::string{"50"});
  }));
  p.context().stop();
  // Every message went into the log as part of a block stored whole.
  std::vector<std::string> logged;
  for (auto& b : support::logged_blocks<std::string>(dir.path(), 0))
    logged.insert(logged.end(), b.begin(), b.end());
  std::vector<std::string> expected;
  for (int i = 1; i <= 50; ++i)
    expected.push_back(std::to_string(i));
  CHECK(without(logged, "hello") == expected);
  CHECK(without(p.elements(), "hello") == expected);
}

TEST_CASE("an MQTT stream that could not store messages leaves them "
          "unacknowledged, and stores them once after its restart",
          "[mqtt][wal]") {
  // The broker logs each packet, so that the test sees the subscription.
  support::mosquitto_broker broker{"log_type all\n"};
  support::log_capture log{"receiver"};
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  const std::string client = "caf-stream-test-store-failed";
  test::pipeline<std::string> p{opts};
  p.context().checkpoint(dir.path());
  p.collect(mqtt::create_stream(p.context(), broker.url(), {"n"},
                                session(client)));
  p.context().start();
  support::log_blocker blocker{dir.path(), 0};
  auto logged = [&](const std::string& text) {
    for (int i = 0; i < 3000 && !log.contains(text)
                    && broker.log_text().find(text) == std::string::npos;
         ++i)
      p.next_batch();
    INFO(text);
    REQUIRE((log.contains(text)
             || broker.log_text().find(text) != std::string::npos));
  };
  logged("Received SUBSCRIBE from " + client);
  publisher pub{broker.port()};
  for (int i = 1; i <= 5; ++i)
    pub.publish("n", std::to_string(i));
  logged("write-ahead log: cannot create");
  blocker.lift();
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return xs.size() >= 5;
  }));
  p.next_batch();
  p.context().stop();
  auto xs = p.elements();
  std::sort(xs.begin(), xs.end());
  CHECK(xs == std::vector<std::string>{"1", "2", "3", "4", "5"});
}

TEST_CASE("an MQTT stream reconnects after its broker restarted", "[mqtt]") {
  support::mosquitto_broker broker;
  test::pipeline<std::string> p;
  p.collect(mqtt::create_stream(p.context(), broker.url(), {"t"}));
  p.context().start();
  {
    publisher pub{broker.port()};
    join(p, pub, "t", std::string{"before"}, "before");
  }
  broker.stop();
  // The receiver finds the connection lost, or the broker unreachable
  // while it restarts, and tries again after each restart delay.
  for (int i = 0; i < 3; ++i)
    p.next_batch();
  broker.start();
  publisher pub{broker.port()};
  join(p, pub, "t", std::string{"after"}, "after");
  p.context().stop();
  auto xs = p.elements();
  CHECK(contains(xs, std::string{"before"}));
  CHECK(contains(xs, std::string{"after"}));
}

TEST_CASE("MQTT streams refuse bad arguments at the call", "[mqtt]") {
  test::pipeline<std::string> p;
  auto& ssc = p.context();
  auto refused = [&](const std::string& url, std::vector<std::string> topics,
                     mqtt::settings cfg) {
    try {
      mqtt::create_stream(ssc, url, std::move(topics), std::move(cfg));
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{"accepted"};
  };
  mqtt::settings ok;
  auto with = [&](auto f) {
    auto cfg = ok;
    f(cfg);
    return cfg;
  };
  std::string url = "tcp://127.0.0.1:1883";
  CHECK(refused("127.0.0.1:1883", {"t"}, ok)
        == "mqtt::create_stream: '127.0.0.1:1883' is not a broker address "
           "(tcp://host:port, or ssl://host:port over TLS)");
  CHECK(refused("tcp://127.0.0.1:http", {"t"}, ok)
        == "mqtt::create_stream: 'tcp://127.0.0.1:http' has no valid port "
           "(1 to 65535)");
  CHECK(refused("tcp://:1883", {"t"}, ok)
        == "mqtt::create_stream: 'tcp://:1883' is not a broker address "
           "(tcp://host:port)");
  CHECK(refused(url, {"t"}, with([](auto& c) { c.ca_file = "ca.pem"; }))
        == "mqtt::create_stream: TLS files are set for a broker without "
           "TLS: its URL takes ssl:// instead of tcp://");
  CHECK(refused("ssl://broker", {"t"}, with([](auto& c) {
                  c.cert_file = "client.pem";
                }))
        == "mqtt::create_stream: a client certificate needs both cert_file "
           "and key_file");
  CHECK(refused("ssl://broker", {"t"}, with([](auto& c) {
                  c.ca_file = "/nonexistent/ca.pem";
                }))
        == "mqtt::create_stream: cannot read '/nonexistent/ca.pem'");
  CHECK(refused("ssl://broker:8883", {"t"}, ok) == "accepted");
  CHECK(refused(url, {}, ok)
        == "mqtt::create_stream: no topic to subscribe to (\"#\" takes every "
           "topic)");
  CHECK(refused(url, {"a/#/b"}, ok)
        == "mqtt::create_stream: 'a/#/b' is not a valid topic filter ('+' "
           "and '#' stand for whole levels, '#' only at the end)");
  CHECK(refused(url, {"a+"}, ok)
        == "mqtt::create_stream: 'a+' is not a valid topic filter ('+' and "
           "'#' stand for whole levels, '#' only at the end)");
  CHECK(refused(url, {"t"}, with([](auto& c) { c.qos = 3; }))
        == "mqtt::create_stream: QoS 3 is not 0, 1 or 2");
  CHECK(refused(url, {"t"}, with([](auto& c) { c.clean_session = false; }))
        == "mqtt::create_stream: a session that is not clean needs a client "
           "id (the broker finds the session by it)");
  CHECK(refused(url, {"t"}, with([](auto& c) {
                  c.keep_alive = std::chrono::seconds(2);
                }))
        == "mqtt::create_stream: keep-alive 2000ms is outside 5 s to 65535 s");
  CHECK(refused("mqtt://broker", {"a/+/c", "#"}, ok) == "accepted");
  auto addr = mqtt::detail::parse_broker_url("tcp://broker.local", "test");
  CHECK(addr.host == "broker.local");
  CHECK(addr.port == 1883);
  CHECK_FALSE(addr.tls);
  addr = mqtt::detail::parse_broker_url("ssl://broker.local", "test");
  CHECK(addr.host == "broker.local");
  CHECK(addr.port == 8883);
  CHECK(addr.tls);
  addr = mqtt::detail::parse_broker_url("mqtts://b:1234", "test");
  CHECK(addr.port == 1234);
  CHECK(addr.tls);
}

TEST_CASE("an MQTT stream reads a broker over TLS that its CA file trusts, "
          "with a client certificate where the broker asks for one",
          "[mqtt]") {
  auto mutual = GENERATE(false, true);
  support::certificates certs;
  make_broker_certificate(certs);
  support::mosquitto_broker broker{tls_listener(certs, mutual)};
  mqtt::settings cfg;
  cfg.ca_file = certs["ca.pem"];
  if (mutual) {
    cfg.cert_file = certs["driver.pem"];
    cfg.key_file = certs["driver.key"];
  }
  publisher pub{broker.port(), cfg};
  test::pipeline<std::string> p;
  auto url = "ssl://127.0.0.1:" + std::to_string(broker.port());
  p.collect(mqtt::create_stream(p.context(), url, {"t"}, cfg));
  p.context().start();
  join(p, pub, "t", std::string{"hello"}, "hello");
  pub.publish("t", "over TLS");
  pub.publish("t", "last");
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return contains(xs, std::string{"last"});
  }));
  p.context().stop();
  CHECK(without(p.elements(), "hello")
        == std::vector<std::string>{"over TLS", "last"});
}

TEST_CASE("an MQTT client refuses a broker over TLS whose certificate "
          "another CA signed, saying why",
          "[mqtt]") {
  support::certificates certs;
  make_broker_certificate(certs);
  support::mosquitto_broker broker{tls_listener(certs, false)};
  mqtt::settings cfg;
  cfg.ca_file = certs["other-ca.pem"];
  cfg.connection_timeout = std::chrono::seconds(60);
  try {
    mqtt::detail::mqtt_client client{
      {"127.0.0.1", broker.port(), true}, {"t"}, cfg};
    FAIL("connected to a broker that the CA file does not trust");
  } catch (const stream_error& e) {
    INFO(e.what());
    CHECK(e.code() == errc::source_failure);
    CHECK(std::string{e.what()}.find("the TLS connection failed")
          != std::string::npos);
    CHECK(std::string{e.what()}.find("certificate verify failed")
          != std::string::npos);
  }
}

TEST_CASE("an MQTT client reports a broker that cannot be reached, at "
          "once",
          "[mqtt]") {
  auto tls = GENERATE(false, true);
  int port = support::free_port();
  mqtt::settings cfg;
  // Long enough for a slow machine, and much longer than the answer takes.
  cfg.connection_timeout = std::chrono::seconds(60);
  auto t0 = std::chrono::steady_clock::now();
  try {
    mqtt::detail::mqtt_client client{{"127.0.0.1", port, tls}, {"t"}, cfg};
    FAIL("connected to a port where nothing listens");
  } catch (const stream_error& e) {
    INFO(e.what());
    CHECK(e.code() == errc::source_failure);
    CHECK(std::string{e.what()}.rfind(
            "mqtt 127.0.0.1:" + std::to_string(port) + ": ", 0)
          == 0);
    // libmosquitto closes a TLS connection it could not make: its error is
    // gone by then.
    CHECK(std::string{e.what()}.find(
            tls ? "the connection closed before the broker accepted it"
                : "refused")
          != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < cfg.connection_timeout);
}
