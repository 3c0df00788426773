// Spark's DirectKafkaWordCount: counts the words of the records of Kafka
// topics, every second, read by a direct stream (no receiver).
//
//   direct_kafka_word_count BROKERS TOPICS [--sqlite FILE] [--seconds N]
//                           [--serve P] [--serve-address A]
//   direct_kafka_word_count --mock [--sqlite FILE] [--seconds N]
//
// TOPICS is a comma-separated list. --mock starts librdkafka's mock cluster
// in this process with a topic "words" and a producer writing lines to it,
// so the program runs with nothing else installed; it prints the cluster's
// address. --sqlite also keeps the running totals in the table
// "word_counts" of FILE (upserted by word, each batch exactly once).
// Options take `--key value` or `--key=value`.
//
// With --serve P the program is a worker node listening on 127.0.0.1:P
// (A:P with --serve-address): it builds the same graph (give it the same
// flags as the driver, with the driver's BROKERS) and runs the map and
// reduce tasks the driver sends it, which read their offset ranges from
// Kafka themselves. The driver names its nodes with
// '--stream.nodes=["host:P",...]', or lets them join with
// --stream.driver-port D (nodes started with --stream.driver host:D).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "example_support.hpp"

namespace {

struct config : example_config {
  bool mock = false;
  std::string sqlite;
  uint16_t serve = 0;
  std::string serve_address;
  config() {
    opt_group{custom_options_, "global"}
      .add(mock, "mock", "run an in-process mock Kafka cluster and producer")
      .add(sqlite, "sqlite", "keep running totals in this SQLite file")
      .add(serve, "serve", "be a worker node listening on this port")
      .add(serve_address, "serve-address",
           "the address a worker node listens on (127.0.0.1; 0.0.0.0: all)");
  }
};

// librdkafka's mock cluster with a topic "words" and a producer that writes
// a line of words every 100 ms until destroyed.
class mock_kafka {
public:
  mock_kafka() {
    char errstr[512];
    // This handle only hosts the cluster and connects nowhere: without a
    // notice that it has no `bootstrap.servers`.
    auto* owner_conf = rd_kafka_conf_new();
    rd_kafka_conf_set(owner_conf, "log_level", "4", errstr, sizeof(errstr));
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, owner_conf, errstr,
                          sizeof(errstr));
    if (owner_ == nullptr)
      throw std::runtime_error(errstr);
    cluster_ = rd_kafka_mock_cluster_new(owner_, 1);
    if (cluster_ == nullptr)
      throw std::runtime_error("cannot start the mock Kafka cluster");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    rd_kafka_mock_topic_create(cluster_, "words", 2, 1);
    auto* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), errstr,
                      sizeof(errstr));
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (producer_ == nullptr)
      throw std::runtime_error(errstr);
    writer_ = std::thread{[this] { write_lines(); }};
  }

  ~mock_kafka() {
    done_ = true;
    writer_.join();
    rd_kafka_flush(producer_, 5000);
    rd_kafka_destroy(producer_);
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }

  const std::string& bootstraps() const noexcept {
    return bootstraps_;
  }

private:
  void write_lines() {
    const char* words[] = {"to", "be", "or", "not", "that", "is"};
    for (uint64_t n = 0; !done_; ++n) {
      std::string line;
      for (int w = 0; w < 6; ++w)
        line += std::string{w == 0 ? "" : " "} + words[(n * 7 + w * 3) % 6];
      rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC("words"),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(line.data(), line.size()),
                        RD_KAFKA_V_END);
      rd_kafka_poll(producer_, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstraps_;
  std::atomic<bool> done_{false};
  std::thread writer_;
};

std::vector<std::string> split_topics(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string t; std::getline(in, t, ',');)
    if (!t.empty())
      result.push_back(t);
  return result;
}

} // namespace

int main(int argc, char** argv) {
  const char* usage = "direct_kafka_word_count BROKERS TOPICS [--sqlite FILE] "
                      "[--seconds N] [--serve P] [--serve-address A] | "
                      "direct_kafka_word_count --mock [--sqlite FILE] "
                      "[--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (!cfg.mock && cfg.remainder.size() < 2) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  if (cfg.mock && cfg.serve != 0) {
    std::cerr << "error: a worker node reads the driver's Kafka: give it "
                 "the BROKERS the driver's --mock printed, and TOPICS\n";
    return 1;
  }
  try {
    if (cfg.serve != 0 || caf_stream::read_stream_options(cfg).with_nodes())
      caf_stream::load_node_modules(cfg);
    std::unique_ptr<mock_kafka> mock;
    std::string brokers;
    std::vector<std::string> topics;
    if (cfg.mock) {
      mock = std::make_unique<mock_kafka>();
      brokers = mock->bootstraps();
      topics = {"words"};
      std::cout << "mock Kafka cluster at " << brokers << ", topic words"
                << std::endl;
    } else {
      brokers = cfg.remainder[0];
      topics = split_topics(cfg.remainder[1]);
    }
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    caf_stream::testing::temporary_directory checkpoints;
    ssc.checkpoint(checkpoints.path());
    namespace kafka = caf_stream::kafka;
    auto messages = kafka::create_direct_stream(
      ssc, kafka::prefer_consistent(),
      kafka::subscribe<std::string, std::string>(
        topics, {{"bootstrap.servers", brokers},
                 {"auto.offset.reset", "earliest"}}));
    auto counts = messages
                    .flat_map([](const kafka::consumer_record<std::string,
                                                              std::string>& r) {
                      return split_words(r.value);
                    })
                    .map([](const std::string& w) {
                      return std::make_pair(w, int64_t{1});
                    })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    counts.print();
    if (!cfg.sqlite.empty()) {
      auto totals = counts.update_state_by_key(
        [](const std::vector<int64_t>& xs, std::optional<int64_t> total) {
          auto n = total.value_or(0);
          for (auto x : xs)
            n += x;
          return std::optional<int64_t>{n};
        });
      caf_stream::sinks::table_options table;
      table.columns = {"word", "count"};
      table.create_if_missing = true;
      table.upsert_key = {"word"};
      caf_stream::sinks::save_to_sqlite(
        totals, cfg.sqlite, "word_counts",
        [](const std::pair<std::string, int64_t>& x) {
          return std::make_tuple(x.first, x.second);
        },
        table);
    }
    if (cfg.serve != 0)
      return serve_until_stopped(ssc, cfg.serve, cfg.serve_address,
                                 cfg.seconds);
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
