#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/flume.hpp"
#include "caf_stream/testing.hpp"

#include "support/avro_bytes.hpp"
#include "support/child_process.hpp"
#include "support/flume_peer.hpp"
#include "support/log_capture.hpp"
#include "support/logged_records.hpp"
#include "support/one_shot_server.hpp"
#include "support/pipeline.hpp"
#include "support/ports.hpp"

using namespace caf_stream;

namespace {

using support::hex;

// A Spark Sink stand-in: Node's avsc serving SparkFlumeProtocol
// (peer/spark_sink.js) on 127.0.0.1:port over a channel the test fills.
class spark_sink {
public:
  explicit spark_sink(int port)
    : node_({"/usr/bin/env", "NODE_PATH=" + support::peer_dir + "/node_modules",
             "node", support::peer_dir + "/spark_sink.js",
             std::to_string(port)}) {
    auto line = node_.read_line();
    INFO(line);
    REQUIRE(line == R"({"ready":true})");
  }

  /// Puts `es` into the sink's channel.
  void put(const std::vector<flume::event>& es) {
    node_.write_line(R"({"op":"put","events":)" + support::json_events(es)
                     + "}");
    CHECK(node_.read_line()
          == R"({"put":)" + std::to_string(es.size()) + "}");
  }

  /// Makes the next getEventBatch answer an error batch with `message`.
  void fail_next(const std::string& message) {
    node_.write_line(R"({"op":"error","message":)"
                     + support::json_string(message) + "}");
    CHECK(node_.read_line() == R"({"error_set":true})");
  }

  /// Returns once `n` batches were acknowledged.
  void wait_acked(size_t n) {
    node_.write_line(R"({"op":"wait_acked","count":)" + std::to_string(n)
                     + "}");
    CHECK(node_.read_line() == R"({"acked":)" + std::to_string(n) + "}");
  }

  /// The events in the channel, the open transactions, the sequence numbers
  /// acknowledged, refused and rolled back, and the bodies of each batch
  /// sent, as the peer prints them.
  std::string state() {
    node_.write_line(R"({"op":"state"})");
    return node_.read_line();
  }

private:
  support::child_process node_;
};

// The sink's state once every batch it sent, each with `bodies`, was
// acknowledged and its channel is empty.
std::string all_acked(const std::vector<std::vector<std::string>>& bodies) {
  std::string seqs;
  std::string batches;
  for (size_t i = 0; i < bodies.size(); ++i) {
    seqs += (i == 0 ? "" : ",") + std::string{"\"seq-"}
            + std::to_string(i + 1) + "\"";
    std::string batch;
    for (const auto& body : bodies[i])
      batch += (batch.empty() ? "\"" : ",\"") + hex(body) + "\"";
    batches += (i == 0 ? "[" : ",[") + batch + "]";
  }
  return R"({"channel":0,"open":0,"acked":[)" + seqs
         + R"(],"nacked":[],"rolled_back":[],"batches":[)" + batches + "]}";
}

std::vector<flume::event> sorted(std::vector<flume::event> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

// Cuts batches until `sink` is in `state`.
void run_until_state(test::pipeline<flume::event>& p, spark_sink& sink,
                     const std::string& state) {
  std::string now;
  for (int i = 0; i < 3000 && (now = sink.state()) != state; ++i)
    p.next_batch();
  CHECK(now == state);
}

void run_until_logged(test::pipeline<flume::event>& p,
                      const support::log_capture& log,
                      const std::string& text) {
  for (int i = 0; i < 3000 && !log.contains(text); ++i)
    p.next_batch();
  INFO(text);
  REQUIRE(log.contains(text));
}

// Puts `e` into `sink`, whose stream `p` has taken nothing so far, and
// stops `p` once `e` came out of it and the sink has its acknowledgement.
void expect_served(test::pipeline<flume::event>& p, spark_sink& sink,
                   const flume::event& e) {
  sink.put({e});
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return !xs.empty();
  }));
  run_until_state(p, sink, all_acked({{e.body}}));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{e});
}

// Quick retries: the tests wait for what the sink sent, never for time.
flume::polling_settings quick(int max_batch_size = 1000) {
  flume::polling_settings cfg;
  cfg.max_batch_size = max_batch_size;
  cfg.reconnect_delay = std::chrono::milliseconds{10};
  return cfg;
}

} // namespace

TEST_CASE("flume::create_polling_stream takes a Spark Sink's events in "
          "batches of max_batch_size, each acknowledged once stored",
          "[flume]") {
  support::require_peer();
  auto port = support::free_port();
  spark_sink sink{port};
  test::pipeline<flume::event> p;
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1", port,
                                         quick(2)));
  std::vector<flume::event> sent{
    {{{"host", "web-1"}, {"timestamp", "1700000000000"}}, "GET /index.html"},
    {{}, "a body without headers"},
    {{{"bin", "yes"}}, std::string{"\0\x01\xFE\xFF", 4}},
    {{{"quote", "say \"hi\""}}, ""},
    {{}, "five"},
  };
  p.context().start();
  sink.put(sent);
  REQUIRE(p.run_until([&](const std::vector<flume::event>& xs) {
    return xs.size() >= sent.size();
  }));
  // Three batches of at most 2 events, in the channel's order.
  run_until_state(p, sink,
                  all_acked({{sent[0].body, sent[1].body},
                             {sent[2].body, sent[3].body},
                             {sent[4].body}}));
  p.context().stop();
  CHECK(sorted(p.elements()) == sorted(sent));
}

TEST_CASE("flume::create_polling_stream pulls from every sink it is given",
          "[flume]") {
  support::require_peer();
  auto port_a = support::free_port();
  auto port_b = support::free_port();
  spark_sink a{port_a};
  spark_sink b{port_b};
  test::pipeline<flume::event> p;
  auto cfg = quick();
  cfg.parallelism = GENERATE(1, 5);
  p.collect(flume::create_polling_stream(
    p.context(), {{"127.0.0.1", port_a}, {"127.0.0.1", port_b}}, cfg));
  p.context().start();
  std::vector<flume::event> from_a{{{{"sink", "a"}}, "1"}, {{}, "2"}};
  std::vector<flume::event> from_b{{{{"sink", "b"}}, "3"}};
  a.put(from_a);
  b.put(from_b);
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 3;
  }));
  run_until_state(p, a, all_acked({{"1", "2"}}));
  run_until_state(p, b, all_acked({{"3"}}));
  p.context().stop();
  CHECK(sorted(p.elements())
        == sorted({from_a[0], from_a[1], from_b[0]}));
}

TEST_CASE("with the write-ahead log on, a polling Flume stream "
          "acknowledges a batch after logging its events as one block",
          "[flume][wal]") {
  support::require_peer();
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  auto port = support::free_port();
  spark_sink sink{port};
  test::pipeline<flume::event> p{opts};
  p.context().checkpoint(dir.path());
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1", port,
                                         quick()));
  p.context().start();
  flume::event a{{{"n", "1"}}, "a"};
  flume::event b{{{"n", "2"}}, "b"};
  sink.put({a, b});
  sink.wait_acked(1);
  // No batch ran: the acknowledgement came with the block in the log.
  CHECK(sink.state() == all_acked({{"a", "b"}}));
  CHECK(support::logged_blocks<flume::event>(dir.path(), 0)
        == std::vector<std::vector<flume::event>>{{a, b}});
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 2;
  }));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{a, b});
}

TEST_CASE("a polling Flume stream refuses a batch it could not store, and "
          "stores it once when the sink sends it again",
          "[flume][wal]") {
  support::require_peer();
  support::log_capture log{"receiver"};
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  auto port = support::free_port();
  spark_sink sink{port};
  test::pipeline<flume::event> p{opts};
  p.context().checkpoint(dir.path());
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1", port,
                                         quick()));
  p.context().start();
  support::log_blocker blocker{dir.path(), 0};
  flume::event e{{{"n", "1"}}, "refused first"};
  sink.put({e});
  run_until_logged(p, log, "storing failed");
  CHECK_THAT(sink.state(), Catch::Contains(R"("nacked":["seq-1")"));
  blocker.lift();
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return !xs.empty();
  }));
  // The sink sent the event again after each nack, until a batch of it was
  // stored and acknowledged: the event came out once.
  std::string now;
  for (int i = 0; i < 3000 && (now = sink.state()).find(R"("acked":[])")
                                != std::string::npos;
       ++i)
    p.next_batch();
  const std::string acked_after_nacks
    = R"(\{"channel":0,"open":0,"acked":\["seq-\d+"\],)"
      R"("nacked":\["seq-1"(,"seq-\d+")*\],"rolled_back":\[\],.*)";
  CHECK_THAT(now, Catch::Matches(acked_after_nacks));
  p.next_batch();
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{e});
}

TEST_CASE("a polling Flume stream reports an error batch and asks again",
          "[flume]") {
  support::require_peer();
  support::log_capture log{"receiver"};
  auto port = support::free_port();
  spark_sink sink{port};
  sink.fail_next("Tried several times, but did not get any events from the "
                 "channel!");
  test::pipeline<flume::event> p;
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1", port,
                                         quick()));
  p.context().start();
  run_until_logged(p, log,
                   "the sink sent no events: Tried several times, but did "
                   "not get any events from the channel!");
  expect_served(p, sink, {{}, "after the error"});
}

TEST_CASE("a polling Flume stream connects to a sink that comes up late",
          "[flume]") {
  support::require_peer();
  support::log_capture log{"receiver"};
  auto port = support::free_port();
  test::pipeline<flume::event> p;
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1", port,
                                         quick()));
  p.context().start();
  run_until_logged(p, log, "127.0.0.1:" + std::to_string(port)
                             + ": cannot connect");
  spark_sink sink{port};
  expect_served(p, sink, {{{"late", "yes"}}, "served"});
}

TEST_CASE("a polling Flume stream closes the connection of a sink that "
          "answers what is not SparkFlumeProtocol",
          "[flume]") {
  support::log_capture log{"receiver"};
  // A reply to the first call whose handshake has match 7 (of 3 symbols).
  support::one_shot_server bad{
    {support::pack(0, {support::bytes({0x0E, 0x00, 0x00, 0x00})})}};
  test::pipeline<flume::event> p;
  p.collect(flume::create_polling_stream(p.context(), "127.0.0.1",
                                         bad.port(), quick()));
  p.context().start();
  run_until_logged(p, log, "a handshake reply with match 7");
  CHECK(log.contains("connection closed"));
  p.next_batch();
  p.context().stop();
  CHECK(p.elements().empty());
}

TEST_CASE("flume::create_polling_stream refuses bad arguments at the call",
          "[flume]") {
  test::pipeline<flume::event> p;
  auto& ssc = p.context();
  auto with = [](auto change) {
    flume::polling_settings cfg;
    change(cfg);
    return cfg;
  };
  CHECK_THROWS_WITH(flume::create_polling_stream(ssc, {}),
                    Catch::Contains("no Spark Sink"));
  CHECK_THROWS_WITH(flume::create_polling_stream(ssc, "", 4141),
                    Catch::Contains("without a host"));
  CHECK_THROWS_WITH(flume::create_polling_stream(ssc, "127.0.0.1", 0),
                    Catch::Contains("port 0"));
  CHECK_THROWS_WITH(
    flume::create_polling_stream(
      ssc, "127.0.0.1", 4141,
      with([](flume::polling_settings& c) { c.max_batch_size = 0; })),
    Catch::Contains("max_batch_size 0"));
  CHECK_THROWS_WITH(
    flume::create_polling_stream(
      ssc, "127.0.0.1", 4141,
      with([](flume::polling_settings& c) { c.parallelism = 0; })),
    Catch::Contains("parallelism 0"));
  CHECK_THROWS_WITH(
    flume::create_polling_stream(
      ssc, "127.0.0.1", 4141,
      with([](flume::polling_settings& c) { c.max_reply_size = 100; })),
    Catch::Contains("max_reply_size 100"));
  CHECK_THROWS_WITH(
    flume::create_polling_stream(ssc, "127.0.0.1", 4141,
                                 with([](flume::polling_settings& c) {
                                   c.reconnect_delay
                                     = std::chrono::milliseconds{-1};
                                 })),
    Catch::Contains("reconnect_delay -1 ms is negative"));
}
