// Bahir's MQTTWordCount: counts the words of the messages published to an
// MQTT topic, every second.
//
//   mqtt_word_count BROKER_URL TOPIC [--qos Q] [--ca-file F] [--publish]
//                   [--seconds N]
//
// BROKER_URL is "tcp://host:port" (a broker such as Debian's `mosquitto`,
// started with `mosquitto -p 1883`), or "ssl://host:port" for a broker over
// TLS whose certificate a CA of --ca-file (a PEM file; without it, the
// system's) signed. TOPIC is a topic filter ('+' and '#'
// allowed). With --publish the program also publishes a line of words to
// TOPIC every 100 ms (Bahir's MQTTPublisher; TOPIC must then be a plain
// topic), so it shows counts on its own. Options take `--key value` or
// `--key=value`.

#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include <mosquitto.h>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/mqtt.hpp"

#include "example_support.hpp"

namespace {

struct config : example_config {
  int qos = 1;
  std::string ca_file;
  bool publish = false;
  config() {
    opt_group{custom_options_, "global"}
      .add(qos, "qos", "the subscription's quality of service (0, 1 or 2)")
      .add(ca_file, "ca-file", "the CAs of an ssl:// broker (a PEM file)")
      .add(publish, "publish", "publish lines of words to TOPIC ourselves");
  }
};

// Publishes a line of words to `topic` every 100 ms until destroyed.
class publisher {
public:
  publisher(const std::string& broker_url, std::string topic,
            const std::string& ca_file)
    : topic_(std::move(topic)) {
    auto addr = caf_stream::mqtt::detail::parse_broker_url(broker_url,
                                                           "--publish");
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, nullptr);
    if (mosq_ != nullptr && addr.tls
        && mosquitto_tls_set(mosq_,
                             ca_file.empty() ? nullptr : ca_file.c_str(),
                             ca_file.empty() ? "/etc/ssl/certs" : nullptr,
                             nullptr, nullptr, nullptr)
             != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("--publish: cannot set TLS up for "
                               + broker_url);
    if (mosq_ == nullptr
        || mosquitto_connect(mosq_, addr.host.c_str(), addr.port, 60)
             != MOSQ_ERR_SUCCESS
        || mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("--publish: cannot connect to " + broker_url);
    thread_ = std::thread{[this] { publish(); }};
  }

  ~publisher() {
    done_ = true;
    thread_.join();
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }

private:
  void publish() {
    const char* words[] = {"hello", "mqtt", "demo", "for", "caf", "stream"};
    for (uint64_t n = 0; !done_; ++n) {
      std::string line;
      for (int w = 0; w < 6; ++w)
        line += std::string{w == 0 ? "" : " "} + words[(n * 5 + w * 7) % 6];
      mosquitto_publish(mosq_, nullptr, topic_.c_str(),
                        static_cast<int>(line.size()), line.data(), 1, false);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::string topic_;
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  const char* usage = "mqtt_word_count BROKER_URL TOPIC [--qos Q] "
                      "[--ca-file F] [--publish] [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (cfg.remainder.size() < 2) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  const auto& broker_url = cfg.remainder[0];
  const auto& topic = cfg.remainder[1];
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    caf_stream::mqtt::settings mqtt_cfg;
    mqtt_cfg.qos = cfg.qos;
    mqtt_cfg.ca_file = cfg.ca_file;
    auto lines = caf_stream::mqtt::create_stream(ssc, broker_url, {topic},
                                                 mqtt_cfg);
    auto counts = lines.flat_map(split_words)
                    .map([](const std::string& w) {
                      return std::make_pair(w, int64_t{1});
                    })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    counts.print();
    std::unique_ptr<publisher> pub;
    if (cfg.publish)
      pub = std::make_unique<publisher>(broker_url, topic, cfg.ca_file);
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
