// Spark's NetworkWordCount: counts the words of the lines a TCP server sends,
// every second.
//
//   network_word_count HOST PORT [--output-prefix=P] [--generate]
//
// With --generate the program also runs a line generator on HOST:PORT
// (a TCP server of its own on 127.0.0.1), so it shows counts on its own.
// Stops after --seconds=N (default: runs until killed).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/config_option_adder.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

struct config : caf_stream::stream_config {
  std::string output_prefix;
  bool generate = false;
  int seconds = 0;
  config() {
    opt_group{custom_options_, "global"}
      .add(output_prefix, "output-prefix", "also save counts under prefix P")
      .add(generate, "generate", "feed the stream from a built-in generator")
      .add(seconds, "seconds", "stop after this many seconds (0: never)");
  }
};

// A TCP server on 127.0.0.1:port that sends each client ten lines of words a
// second until the program ends.
class line_generator {
public:
  explicit line_generator(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(fd_, 4) != 0)
      throw std::runtime_error("--generate: cannot listen on 127.0.0.1:"
                               + std::to_string(port));
    thread_ = std::thread{[this] { serve(); }};
  }

  ~line_generator() {
    done_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

private:
  void serve() {
    const char* words[] = {"to", "be", "or", "not", "that", "is", "the",
                           "question", "whether", "tis", "nobler"};
    uint64_t seed = 42;
    while (!done_) {
      auto client = ::accept(fd_, nullptr, nullptr);
      if (client < 0)
        return;
      while (!done_) {
        std::ostringstream lines;
        for (int i = 0; i < 10; ++i) {
          for (int w = 0; w < 6; ++w) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            lines << (w > 0 ? " " : "") << words[(seed >> 33) % 11];
          }
          lines << '\n';
        }
        auto text = lines.str();
        if (::send(client, text.data(), text.size(), MSG_NOSIGNAL) < 0)
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ::close(client);
    }
  }

  int fd_ = -1;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  auto args = flags_first(argc, argv);
  config cfg;
  if (auto err = cfg.parse(static_cast<int>(args.size()), args.data())) {
    std::cerr << "error: " << cfg.render(err) << '\n';
    return 1;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.remainder.size() != 2) {
    std::cerr << "usage: network_word_count HOST PORT [--output-prefix=P] "
                 "[--generate] [--seconds=N]\n";
    return 1;
  }
  try {
    auto host = cfg.remainder[0];
    auto port = static_cast<uint16_t>(std::stoi(cfg.remainder[1]));
    std::unique_ptr<line_generator> generator;
    if (cfg.generate)
      generator = std::make_unique<line_generator>(port);
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto lines = ssc.socket_text_stream(host, port);
    auto words = lines.flat_map(split_words);
    auto counts = words.map([](const std::string& w) {
                         return std::make_pair(w, int64_t{1});
                       })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    counts.print();
    if (!cfg.output_prefix.empty())
      counts.save_as_text_files(cfg.output_prefix, "txt");
    ssc.start();
    if (cfg.seconds > 0)
      ssc.await_termination_or_timeout(std::chrono::seconds(cfg.seconds));
    else
      ssc.await_termination();
    ssc.stop(true);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
