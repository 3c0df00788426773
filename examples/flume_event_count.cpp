// Spark's FlumeEventCount: counts the events Flume agents push to HOST:PORT,
// every 2 seconds.
//
//   flume_event_count HOST PORT [--send] [--seconds N]
//
// Point a Flume agent's AvroSink at HOST:PORT (`a1.sinks.k1.type = avro`,
// `a1.sinks.k1.hostname = HOST`, `a1.sinks.k1.port = PORT`). With --send
// the program also plays such an agent: it sends a batch of 100 events
// every 100 ms to HOST:PORT, so it shows counts on its own. Options take
// `--key value` or `--key=value`.

#include <netdb.h>
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
#include "caf_stream/flume/avro_rpc.hpp"

#include "example_support.hpp"

namespace {

struct config : example_config {
  bool send = false;
  config() {
    opt_group{custom_options_, "global"}.add(
      send, "send", "send events to HOST:PORT ourselves, as an AvroSink");
  }
};

// Connects to host:port; -1 if nothing listens there (yet).
int connect_to(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res)
      != 0)
    throw std::runtime_error("--send: cannot resolve " + host);
  int fd = -1;
  for (auto* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  return fd;
}

// A Flume AvroSink stand-in: sends a batch of 100 events every 100 ms and
// waits for each batch's status, until destroyed.
class sender {
public:
  sender(std::string host, uint16_t port)
    : host_(std::move(host)), port_(port), thread_([this] { run(); }) {
    // nop
  }

  ~sender() {
    done_ = true;
    thread_.join();
  }

private:
  void run() {
    using namespace caf_stream::flume;
    int fd = -1;
    // The stream's receiver listens once the context started.
    while (!done_ && (fd = connect_to(host_, port_)) < 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    detail::avro_source_requestor requestor;
    std::vector<detail::status> statuses;
    for (uint64_t n = 0; !done_; ++n) {
      std::vector<event> events;
      for (int i = 0; i < 100; ++i)
        events.push_back({{{"host", "flume_event_count"}},
                          "event " + std::to_string(n * 100 + i)});
      std::string out;
      requestor.append_batch(out, events);
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL)
          != static_cast<ssize_t>(out.size()))
        break;
      // A real AvroSink sends the batch again after FAILED; this one only
      // sends new ones.
      statuses.clear();
      char buf[256];
      while (statuses.empty()) {
        auto got = ::recv(fd, buf, sizeof(buf), 0);
        if (got <= 0)
          break;
        requestor.feed(buf, static_cast<size_t>(got), statuses);
      }
      if (statuses.empty())
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (fd >= 0)
      ::close(fd);
  }

  std::string host_;
  uint16_t port_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  const char* usage = "flume_event_count HOST PORT [--send] [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string host;
  uint16_t port = 0;
  if (!host_and_port(cfg, usage, host, port))
    return 1;
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(2)};
    auto events = caf_stream::flume::create_stream(ssc, host, port);
    events.count()
      .map([](int64_t n) {
        return "Received " + std::to_string(n) + " flume events.";
      })
      .print();
    std::unique_ptr<sender> send;
    if (cfg.send)
      send = std::make_unique<sender>(host, port);
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
