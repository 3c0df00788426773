// Spark's FlumePollingEventCount: counts the events pulled from the Spark
// Sink of a Flume agent at HOST:PORT, every 2 seconds.
//
//   flume_polling_event_count HOST PORT [--sink] [--seconds N]
//
// Give a Flume agent Spark's sink (`a1.sinks.k1.type =
// org.apache.spark.streaming.flume.sink.SparkSink`, `a1.sinks.k1.hostname =
// HOST`, `a1.sinks.k1.port = PORT`, with Spark's spark-streaming-flume-sink
// jar on the agent's classpath). With --sink the program also plays such an
// agent: it serves SparkFlumeProtocol on HOST:PORT, holding each
// getEventBatch for 100 ms and then handing out up to 100 new events, and
// says at the end how many events the stream acknowledged. Options take
// `--key value` or `--key=value`.

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/flume.hpp"
#include "caf_stream/flume/spark_sink_protocol.hpp"

#include "example_support.hpp"

namespace {

using namespace caf_stream::flume;

struct config : example_config {
  bool sink = false;
  config() {
    opt_group{custom_options_, "global"}.add(
      sink, "sink", "serve HOST:PORT ourselves, as a Spark Sink");
  }
};

// Listens on host:port; throws if it cannot.
int listen_on(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res)
      != 0)
    throw std::runtime_error("--sink: cannot resolve " + host);
  int fd = -1;
  for (auto* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (fd >= 0
        && (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
            || ::listen(fd, 4) != 0)) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0)
    throw std::runtime_error("--sink: cannot listen on " + host + ":"
                             + std::to_string(port));
  return fd;
}

// Waits up to 100 ms for `fd` to be readable; false if it is not.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 100) > 0;
}

// A Spark Sink stand-in: serves one connection at a time, hands out new
// events, and keeps each batch open until it is acknowledged (committed)
// or refused (its events go out again), as the sink's transactions do.
class sink {
public:
  sink(const std::string& host, uint16_t port)
    : listener_(listen_on(host, port)), thread_([this] { run(); }) {
    // nop
  }

  ~sink() {
    stop();
    ::close(listener_);
  }

  // Stops serving; returns the events acknowledged.
  size_t stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
    return tx_.acknowledged();
  }

private:
  void run() {
    while (!done_) {
      if (!readable(listener_))
        continue;
      auto fd = ::accept(listener_, nullptr, nullptr);
      if (fd >= 0) {
        serve(fd);
        ::close(fd);
      }
    }
  }

  void serve(int fd) {
    detail::netty_decoder decoder{1024 * 1024};
    detail::spark_sink_responder responder;
    std::vector<detail::netty_pack> packs;
    char buf[4096];
    while (!done_) {
      if (!readable(fd))
        continue;
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      packs.clear();
      std::string replies;
      try {
        decoder.feed(buf, static_cast<size_t>(n), packs);
        for (const auto& pack : packs)
          detail::encode_pack(replies, pack.serial,
                              answer(responder, responder.read(pack)));
      } catch (const detail::protocol_error& e) {
        std::cerr << "--sink: " << e.what() << '\n';
        break;
      }
      if (::send(fd, replies.data(), replies.size(), MSG_NOSIGNAL)
          != static_cast<ssize_t>(replies.size()))
        break;
    }
    // The connection's open batches roll back.
    tx_.roll_back();
  }

  std::vector<std::string> answer(detail::spark_sink_responder& responder,
                                  const detail::sink_call& call) {
    if (call.what != detail::sink_call::kind::get_event_batch) {
      tx_.settle(call);
      return responder.reply();
    }
    // Events come at 1,000 a second: the call waits for them.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int made = 0;
    auto next = [&](event& e) {
      if (made++ == 100)
        return false;
      e = event{{{"host", "flume_polling_event_count"}},
                "event " + std::to_string(next_++)};
      return true;
    };
    return responder.reply(tx_.take(call.n, next));
  }

  int listener_;
  std::atomic<bool> done_{false};
  uint64_t next_ = 0;
  detail::sink_transactions tx_;
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  const char* usage
    = "flume_polling_event_count HOST PORT [--sink] [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string host;
  uint16_t port = 0;
  if (!host_and_port(cfg, usage, host, port))
    return 1;
  try {
    std::unique_ptr<sink> serve;
    if (cfg.sink)
      serve = std::make_unique<sink>(host, port);
    int status = 0;
    {
      caf::actor_system sys{cfg};
      caf_stream::streaming_context ssc{sys, std::chrono::seconds(2)};
      auto events = create_polling_stream(ssc, host, port);
      events.count()
        .map([](int64_t n) {
          return "Received " + std::to_string(n) + " flume events.";
        })
        .print();
      ssc.start();
      status = run_for(ssc, cfg.seconds);
    }
    if (serve)
      std::cout << "The sink: " << serve->stop()
                << " events acknowledged.\n";
    return status;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
