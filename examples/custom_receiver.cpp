// Spark's CustomReceiver example, self-contained: a receiver that reads lines
// from a TCP server on its own thread, stores them, and asks to be restarted
// when the connection fails or ends. Counts the words every second.
//
//   custom_receiver HOST PORT [--seconds=N]
//
// Try it with `nc -lk 9999` in another terminal.

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

class line_receiver final : public caf_stream::receiver<std::string> {
public:
  line_receiver(std::string host, std::string port)
    : host_(std::move(host)), port_(std::move(port)) {
    // nop
  }

  void on_start() override {
    // Must not block: the receiving loop runs on a thread of its own.
    thread_ = std::thread{[this] { receive(); }};
  }

  void on_stop() override {
    if (auto fd = fd_.load(); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
    if (thread_.joinable())
      thread_.join();
  }

private:
  void receive() {
    fd_ = connect_to();
    if (fd_ < 0) {
      restart("cannot connect to " + host_ + ":" + port_);
      return;
    }
    std::string pending;
    char buf[4096];
    while (!is_stopped()) {
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      pending.append(buf, static_cast<size_t>(n));
      for (auto pos = pending.find('\n'); pos != std::string::npos;
           pos = pending.find('\n')) {
        store(pending.substr(0, pos));
        pending.erase(0, pos + 1);
      }
    }
    ::close(fd_.exchange(-1));
    if (!is_stopped())
      restart("the server closed the connection; trying again");
  }

  int connect_to() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addrs = nullptr;
    if (::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &addrs) != 0)
      return -1;
    int fd = -1;
    for (auto* a = addrs; a != nullptr && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(addrs);
    return fd;
  }

  std::string host_;
  std::string port_;
  std::atomic<int> fd_{-1};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  const char* usage = "custom_receiver HOST PORT [--seconds N]";
  example_config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (cfg.remainder.size() != 2) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto lines = ssc.receiver_stream<std::string>(
      std::make_unique<line_receiver>(cfg.remainder[0], cfg.remainder[1]));
    lines.flat_map(split_words)
      .map([](const std::string& w) { return std::make_pair(w, 1); })
      .reduce_by_key([](int a, int b) { return a + b; })
      .print();
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
