#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"
#include "caf_stream/zeromq.hpp"

#include "support/pipeline.hpp"

using namespace caf_stream;

namespace {

// A peer socket of the test, bound to a free port on 127.0.0.1.
struct peer {
  zmq::context_t ctx{1};
  zmq::socket_t socket;
  std::string endpoint;

  explicit peer(zmq::socket_type type) : socket(ctx, type) {
    socket.set(zmq::sockopt::linger, 0);
    socket.bind("tcp://127.0.0.1:*");
    endpoint = socket.get(zmq::sockopt::last_endpoint);
  }

  void send(std::vector<std::string> parts) {
    std::vector<zmq::const_buffer> buffers;
    for (auto& x : parts)
      buffers.emplace_back(zmq::buffer(x));
    REQUIRE(zmq::send_multipart(socket, buffers));
  }
};

template <class T>
size_t count_of(const std::vector<T>& xs, const T& x) {
  return static_cast<size_t>(std::count(xs.begin(), xs.end(), x));
}

} // namespace

TEST_CASE("zeromq::create_stream takes the messages of its topics",
          "[zeromq]") {
  peer pub{zmq::socket_type::pub};
  test::pipeline<std::string> p;
  p.collect(zeromq::create_stream<std::string>(
    p.context(), pub.endpoint, {"sensors", "alerts"},
    zeromq::text_converter));
  p.context().start();
  // A subscriber misses what is published before its subscription reached
  // the publisher: publish until the first message arrives.
  bool joined = false;
  for (int i = 0; i < 3000 && !joined; ++i) {
    pub.send({"sensors", "hello"});
    p.next_batch();
    joined = count_of(p.elements(), std::string{"hello"}) > 0;
  }
  REQUIRE(joined);
  pub.send({"sensors", "a", "b"});
  pub.send({"other", "not subscribed"});
  pub.send({"alerts.high", "c"});
  pub.send({"sensors", "last"});
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return count_of(xs, std::string{"last"}) > 0;
  }));
  p.context().stop();
  auto xs = p.elements();
  xs.erase(std::remove(xs.begin(), xs.end(), "hello"), xs.end());
  // One publisher, one connection: in the order sent, without the topic
  // that was not subscribed.
  CHECK(xs == std::vector<std::string>{"a", "b", "c", "last"});
}

TEST_CASE("zeromq::create_pull_stream takes what PUSH sockets send and skips "
          "what the converter refuses",
          "[zeromq]") {
  peer push{zmq::socket_type::push};
  test::pipeline<int> p;
  p.collect(zeromq::create_pull_stream<int>(
    p.context(), push.endpoint, [](const zeromq::frames& msg) {
      std::vector<int> result;
      for (const auto& x : msg)
        result.push_back(std::stoi(x)); // throws on "x"
      return result;
    }));
  p.context().start();
  // PUSH queues until the PULL socket connected: nothing is lost.
  for (int i = 1; i <= 100; ++i)
    push.send({std::to_string(i)});
  push.send({"1000", "x"});
  push.send({"101", "102"});
  REQUIRE(p.run_until([](const std::vector<int>& xs) {
    return count_of(xs, 102) > 0;
  }));
  p.context().stop();
  std::vector<int> expected;
  for (int i = 1; i <= 102; ++i)
    expected.push_back(i);
  CHECK(p.elements() == expected);
}

TEST_CASE("a bound ZeroMQ stream releases its port when it stops",
          "[zeromq]") {
  std::string endpoint;
  {
    peer probe{zmq::socket_type::pull};
    endpoint = probe.endpoint;
  }
  test::pipeline<std::string> p;
  p.collect(zeromq::create_pull_stream<std::string>(
    p.context(), endpoint, [](const zeromq::frames& msg) { return msg; },
    false));
  p.context().start();
  zmq::context_t ctx{1};
  zmq::socket_t push{ctx, zmq::socket_type::push};
  push.set(zmq::sockopt::linger, 0);
  push.connect(endpoint);
  REQUIRE(push.send(zmq::buffer(std::string{"x"})));
  REQUIRE(p.run_until([](const std::vector<std::string>& xs) {
    return !xs.empty();
  }));
  p.context().stop();
  zmq::socket_t again{ctx, zmq::socket_type::pull};
  again.set(zmq::sockopt::linger, 0);
  CHECK_NOTHROW(again.bind(endpoint));
}

TEST_CASE("ZeroMQ streams refuse bad arguments at the call", "[zeromq]") {
  test::pipeline<std::string> p;
  CHECK_THROWS_WITH(
    zeromq::create_stream<std::string>(p.context(), "http://127.0.0.1:1",
                                       {"t"}, zeromq::text_converter),
    "zeromq::create_stream: 'http://127.0.0.1:1' is not a ZeroMQ endpoint "
    "(tcp://host:port, ipc://path or inproc://name)");
  CHECK_THROWS_WITH(
    zeromq::create_stream<std::string>(p.context(), "tcp://127.0.0.1:1", {},
                                       zeromq::text_converter),
    "zeromq::create_stream: no topic to subscribe to (\"\" takes every "
    "message)");
  CHECK(zeromq::text_converter({"topic", "a", "b"})
        == std::vector<std::string>{"a", "b"});
  CHECK(zeromq::text_converter({}).empty());
}
