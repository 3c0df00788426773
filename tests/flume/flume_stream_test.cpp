#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/flume.hpp"
#include "caf_stream/testing.hpp"

#include "support/child_process.hpp"
#include "support/flume_peer.hpp"
#include "support/log_capture.hpp"
#include "support/logged_records.hpp"
#include "support/pipeline.hpp"
#include "support/ports.hpp"

using namespace caf_stream;

namespace {

using support::json_event;
using support::json_events;
using support::peer_dir;
using support::require_peer;

// The command that starts the Node peer on 127.0.0.1:port, compressing its
// connection with `deflate`.
std::vector<std::string> sink_command(int port, bool deflate) {
  std::vector<std::string> result{"/usr/bin/env",
                                  "NODE_PATH=" + peer_dir + "/node_modules",
                                  "node", peer_dir + "/avro_sink.js",
                                  std::to_string(port)};
  if (deflate)
    result.emplace_back("--deflate");
  return result;
}

// A Flume AvroSink stand-in: Node's avsc (peer/avro_sink.js) on a stateful
// channel with Avro's Netty framing, connected to 127.0.0.1:port (with
// `deflate`, as a sink with compression-type = deflate). Each call
// returns the line the peer printed for it.
class avro_sink {
public:
  explicit avro_sink(int port, bool deflate = false)
    : node_(sink_command(port, deflate)) {
    auto line = node_.read_line();
    INFO(line);
    REQUIRE(line == R"({"ready":true,"match":"BOTH"})");
  }

  std::string append(const flume::event& e) {
    node_.write_line(R"({"op":"append","event":)" + json_event(e) + "}");
    return node_.read_line();
  }

  std::string append_batch(const std::vector<flume::event>& es) {
    node_.write_line(R"({"op":"appendBatch","events":)" + json_events(es)
                     + "}");
    return node_.read_line();
  }

  /// Sends the first `keep` bytes of an appendBatch of `es`, then
  /// disconnects.
  void cut(const std::vector<flume::event>& es, int keep) {
    node_.write_line(R"({"op":"cut","events":)" + json_events(es)
                     + ",\"keep\":" + std::to_string(keep) + "}");
    CHECK(node_.read_line() == R"({"cut":true})");
  }

private:
  support::child_process node_;
};

const std::string ok = R"({"status":"OK"})";

// The receiver listens once it started: runs batches until it does.
template <class T>
void wait_until_listening(test::pipeline<T>& p, int port) {
  for (int i = 0; i < 3000; ++i) {
    if (support::accepts_connections(port))
      return;
    p.next_batch();
  }
  FAIL("the Flume receiver does not listen on port " << port);
}

template <class T>
void run_until_logged(test::pipeline<T>& p, const support::log_capture& log,
                      const std::string& text) {
  for (int i = 0; i < 3000 && !log.contains(text); ++i)
    p.next_batch();
  INFO(text);
  REQUIRE(log.contains(text));
}

std::vector<flume::event> sorted(std::vector<flume::event> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

// A plain TCP client of the test, for bytes no Avro client would send.
class raw_client {
public:
  explicit raw_client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
    // A bound for a stuck server, not a timing assumption.
    timeval timeout{120, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }

  ~raw_client() {
    ::close(fd_);
  }

  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL)
            == static_cast<ssize_t>(bytes.size()));
  }

  /// Reads until the server closes the connection; returns what it sent.
  std::string read_to_end() {
    std::string result;
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0)
        return result;
      if (n < 0)
        throw std::runtime_error("the server did not close the connection");
      result.append(buf, static_cast<size_t>(n));
    }
  }

private:
  int fd_ = -1;
};

// A pipeline collecting a Flume stream on a free port, started and
// listening, with the receivers' log captured.
struct flume_pipeline {
  explicit flume_pipeline(flume::settings cfg = {},
                          stream_options opts = testing::default_test_options())
    : p(opts) {
    require_peer();
    p.collect(flume::create_stream(p.context(), "127.0.0.1", port, cfg));
  }

  void start() {
    p.context().start();
    wait_until_listening(p, port);
  }

  support::log_capture log{"receiver"};
  int port = support::free_port();
  test::pipeline<flume::event> p;
};

} // namespace

TEST_CASE("flume::create_stream takes the events of append and appendBatch",
          "[flume]") {
  flume_pipeline f;
  auto& p = f.p;
  f.start();
  std::vector<flume::event> sent{
    {{{"host", "web-1"}, {"timestamp", "1700000000000"}}, "GET /index.html"},
    {{}, "a body without headers"},
    {{{"bin", "yes"}}, std::string{"\0\x01\xFE\xFF", 4}},
    {{{"quote", "say \"hi\""}}, ""},
  };
  {
    avro_sink sink{f.port};
    CHECK(sink.append(sent[0]) == ok);
    CHECK(sink.append_batch({sent[1], sent[2]}) == ok);
    CHECK(sink.append_batch({}) == ok);
    CHECK(sink.append(sent[3]) == ok);
  }
  REQUIRE(p.run_until([&](const std::vector<flume::event>& xs) {
    return xs.size() >= sent.size();
  }));
  p.context().stop();
  CHECK(sorted(p.elements()) == sorted(sent));
}

TEST_CASE("with the write-ahead log on, a Flume stream answers OK after "
          "logging the call's events as one block",
          "[flume][wal]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  flume_pipeline f{{}, opts};
  auto& p = f.p;
  p.context().checkpoint(dir.path());
  f.start();
  flume::event a{{{"n", "1"}}, "a"};
  flume::event b{{{"n", "2"}}, "b"};
  flume::event c{{{"n", "3"}}, "c"};
  {
    avro_sink sink{f.port};
    CHECK(sink.append(a) == ok);
    // The answer came after the log had the block: no batch ran since.
    auto logged = support::logged_blocks<flume::event>(dir.path(), 0);
    CHECK(logged == std::vector<std::vector<flume::event>>{{a}});
    CHECK(sink.append_batch({b, c}) == ok);
  }
  CHECK(support::logged_blocks<flume::event>(dir.path(), 0)
        == std::vector<std::vector<flume::event>>{{a}, {b, c}});
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 3;
  }));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{a, b, c});
}

TEST_CASE("a Flume stream answers FAILED to a call it could not store, and "
          "stores the events once when the sink sends them again",
          "[flume][wal]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  flume_pipeline f{{}, opts};
  auto& p = f.p;
  p.context().checkpoint(dir.path());
  f.start();
  support::log_blocker blocker{dir.path(), 0};
  flume::event a{{{"n", "1"}}, "a"};
  flume::event b{{{"n", "2"}}, "b"};
  const std::string failed = R"({"status":"FAILED"})";
  {
    avro_sink sink{f.port};
    CHECK(sink.append(a) == failed);
    CHECK(sink.append_batch({a, b}) == failed);
    run_until_logged(p, f.log, "storing failed");
    // Flume's AvroSink sends a failed call's events again.
    blocker.lift();
    CHECK(sink.append_batch({a, b}) == ok);
  }
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 2;
  }));
  p.next_batch();
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{a, b});
}

TEST_CASE("a Flume stream closes the connection of a client that sends "
          "malformed frames, and serves the others",
          "[flume]") {
  flume_pipeline f;
  auto& p = f.p;
  f.start();
  avro_sink sink{f.port};
  flume::event before{{}, "before"};
  CHECK(sink.append(before) == ok);
  {
    raw_client bad{f.port};
    // Serial 1, then a frame count of -1.
    bad.send(std::string{"\0\0\0\x01\xFF\xFF\xFF\xFF", 8});
    CHECK(bad.read_to_end().empty());
  }
  run_until_logged(p, f.log, "sent a request of -1 frames");
  CHECK(f.log.contains("connection closed"));
  flume::event after{{}, "after"};
  CHECK(sink.append(after) == ok);
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 2;
  }));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{before, after});
}

TEST_CASE("with enable_decompression, a Flume stream takes the events of "
          "a sink that compresses its connection",
          "[flume]") {
  flume::settings cfg;
  cfg.enable_decompression = true;
  flume_pipeline f{cfg};
  auto& p = f.p;
  f.start();
  // A body that inflates to more than one piece of the inflater.
  std::string big;
  while (big.size() < 300 * 1000)
    big += "line " + std::to_string(big.size()) + " of a log file\n";
  std::vector<flume::event> sent{
    {{{"host", "web-1"}}, "GET /index.html"},
    {{}, big},
    {{{"bin", "yes"}}, std::string{"\0\x01\xFE\xFF", 4}},
  };
  {
    avro_sink sink{f.port, true};
    CHECK(sink.append(sent[0]) == ok);
    CHECK(sink.append_batch({sent[1], sent[2]}) == ok);
  }
  REQUIRE(p.run_until([&](const std::vector<flume::event>& xs) {
    return xs.size() >= sent.size();
  }));
  p.context().stop();
  CHECK(sorted(p.elements()) == sorted(sent));
}

TEST_CASE("a Flume stream refuses a sink that compresses otherwise than it "
          "decompresses, saying so, and serves the others",
          "[flume]") {
  auto decompress = GENERATE(false, true);
  flume::settings cfg;
  cfg.enable_decompression = decompress;
  flume_pipeline f{cfg};
  auto& p = f.p;
  f.start();
  {
    support::child_process other{sink_command(f.port, !decompress)};
    auto line = other.read_line();
    INFO(line);
    CHECK(line.find("ready") == std::string::npos);
  }
  run_until_logged(p, f.log,
                   decompress ? "leave enable_decompression off"
                              : "reads with enable_decompression only");
  CHECK(f.log.contains("connection closed"));
  flume::event e{{}, "from a sink that matches"};
  {
    avro_sink sink{f.port, decompress};
    CHECK(sink.append(e) == ok);
  }
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return !xs.empty();
  }));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{e});
}

TEST_CASE("a Flume stream refuses a request past its size limit",
          "[flume]") {
  flume::settings cfg;
  cfg.max_request_size = 4096;
  flume_pipeline f{cfg};
  auto& p = f.p;
  f.start();
  flume::event small{{}, "small"};
  {
    avro_sink sink{f.port};
    CHECK(sink.append(small) == ok);
    auto reply = sink.append_batch({{{}, std::string(3000, 'x')},
                                    {{}, std::string(3000, 'y')}});
    CHECK(reply != ok);
  }
  run_until_logged(p, f.log, "limit of 4096 bytes");
  // The connection is gone; a new one is served.
  flume::event later{{}, "later"};
  {
    avro_sink sink{f.port};
    CHECK(sink.append(later) == ok);
  }
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return xs.size() >= 2;
  }));
  p.next_batch();
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{small, later});
}

TEST_CASE("a Flume client that disconnects in the middle of a batch loses "
          "nothing that was acknowledged",
          "[flume]") {
  flume_pipeline f;
  auto& p = f.p;
  f.start();
  std::vector<flume::event> acknowledged{{{{"n", "1"}}, "one"},
                                         {{{"n", "2"}}, "two"}};
  {
    avro_sink sink{f.port};
    CHECK(sink.append_batch(acknowledged) == ok);
    sink.cut({{{}, "three"}, {{}, "four"}}, 20);
  }
  run_until_logged(p, f.log,
                   "disconnected in the middle of a request (20 bytes "
                   "received); nothing of it was stored or acknowledged");
  p.next_batch();
  p.context().stop();
  CHECK(p.elements() == acknowledged);
}

TEST_CASE("a Flume stream whose port is taken restarts until it is free",
          "[flume]") {
  flume_pipeline f;
  auto& p = f.p;
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(f.port));
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0);
  REQUIRE(::listen(holder, 1) == 0);
  p.context().start();
  run_until_logged(p, f.log, "cannot listen");
  ::close(holder);
  // The receiver tries again after each restart delay.
  wait_until_listening(p, f.port);
  flume::event e{{}, "served"};
  {
    avro_sink sink{f.port};
    CHECK(sink.append(e) == ok);
  }
  REQUIRE(p.run_until([](const std::vector<flume::event>& xs) {
    return !xs.empty();
  }));
  p.context().stop();
  CHECK(p.elements() == std::vector<flume::event>{e});
}

TEST_CASE("flume::create_stream refuses bad arguments at the call",
          "[flume]") {
  test::pipeline<flume::event> p;
  auto& ssc = p.context();
  CHECK_THROWS_WITH(flume::create_stream(ssc, "", 4141),
                    Catch::Contains("no host"));
  CHECK_THROWS_WITH(flume::create_stream(ssc, "127.0.0.1", 0),
                    Catch::Contains("port 0"));
  CHECK_THROWS_WITH(flume::create_stream(ssc, "127.0.0.1", 70000),
                    Catch::Contains("port 70000"));
  flume::settings tiny;
  tiny.max_request_size = 100;
  CHECK_THROWS_WITH(flume::create_stream(ssc, "127.0.0.1", 4141, tiny),
                    Catch::Contains("max_request_size 100"));
  flume::settings closed;
  closed.max_connections = 0;
  CHECK_THROWS_WITH(flume::create_stream(ssc, "127.0.0.1", 4141, closed),
                    Catch::Contains("max_connections is 0"));
}
