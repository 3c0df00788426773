// Bahir's ZeroMQWordCount: counts the words of the messages a ZeroMQ
// publisher sends on a topic, every second.
//
//   zeromq_word_count URL TOPIC [--publish] [--seconds N]
//
// URL is the publisher's endpoint ("tcp://127.0.0.1:5553"); the stream's
// SUB socket connects there and subscribes to TOPIC (ZeroMQ's prefix
// match). Each message is the topic frame, then one frame per line. With
// --publish the program also binds a PUB socket at URL and publishes two
// lines of words to TOPIC every 100 ms (Bahir's SimpleZeroMQPublisher), so
// it shows counts on its own. Options take `--key value` or `--key=value`.

#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/zeromq.hpp"

#include "example_support.hpp"

namespace {

struct config : example_config {
  bool publish = false;
  config() {
    opt_group{custom_options_, "global"}.add(
      publish, "publish", "publish lines of words at URL ourselves");
  }
};

// Binds a PUB socket at `url` and publishes to `topic` every 100 ms until
// destroyed.
class publisher {
public:
  publisher(const std::string& url, std::string topic)
    : topic_(std::move(topic)), socket_(ctx_, zmq::socket_type::pub) {
    socket_.set(zmq::sockopt::linger, 0);
    try {
      socket_.bind(url);
    } catch (const zmq::error_t& e) {
      throw std::runtime_error("--publish: cannot bind to " + url + ": "
                               + e.what());
    }
    thread_ = std::thread{[this] { publish(); }};
  }

  ~publisher() {
    done_ = true;
    thread_.join();
  }

private:
  void publish() {
    const char* lines[] = {"words in a line", "more words", "a line of words"};
    for (uint64_t n = 0; !done_; ++n) {
      std::string first = lines[n % 3];
      std::string second = lines[(n + 1) % 3];
      socket_.send(zmq::buffer(topic_), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(first), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(second), zmq::send_flags::none);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::string topic_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  const char* usage = "zeromq_word_count URL TOPIC [--publish] [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (cfg.remainder.size() < 2) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  const auto& url = cfg.remainder[0];
  const auto& topic = cfg.remainder[1];
  try {
    std::unique_ptr<publisher> pub;
    if (cfg.publish)
      pub = std::make_unique<publisher>(url, topic);
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    namespace zeromq = caf_stream::zeromq;
    auto lines = zeromq::create_stream<std::string>(ssc, url, {topic},
                                                    zeromq::text_converter);
    auto counts = lines.flat_map(split_words)
                    .map([](const std::string& w) {
                      return std::make_pair(w, int64_t{1});
                    })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    counts.print();
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
