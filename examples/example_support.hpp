#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "caf/config_option_adder.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/streaming_context.hpp"

// The words of a line, split on white space.
inline std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> result;
  std::istringstream in{line};
  for (std::string w; in >> w;)
    result.push_back(w);
  return result;
}

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

// Runs a started context for `seconds` (0: until it stops), then stops it
// gracefully; SIGINT or SIGTERM stop it earlier (Spark's shutdown hook:
// gracefully with --stream.stop-gracefully-on-shutdown), a second one
// at once. Returns the program's exit status: 128 + the signal after one.
inline int run_for(caf_stream::streaming_context& ssc, int seconds) {
  caf_stream::shutdown_hook hook{ssc};
  if (seconds > 0)
    ssc.await_termination_or_timeout(std::chrono::seconds(seconds));
  else
    ssc.await_termination();
  ssc.stop(true);
  return hook.exit_status();
}

// Flags every example that runs for a while has.
struct example_config : caf_stream::stream_config {
  int seconds = 0;
  example_config() {
    // The examples are programs of their own: they show the streaming UI
    // (--stream.ui.enabled=false turns it off).
    caf::put(content, "stream.ui.enabled", true);
    opt_group{custom_options_, "global"}.add(
      seconds, "seconds", "stop after this many seconds (0: never)");
  }
};

// Flags of the examples that count the words a TCP server sends.
struct network_config : example_config {
  bool generate = false;
  network_config() {
    opt_group{custom_options_, "global"}.add(
      generate, "generate", "serve lines on 127.0.0.1:PORT ourselves");
  }
};

// Parses the command line into `cfg` (`--key=value` or `--key value`, flags
// anywhere); on a bad flag prints one sentence and the usage line and returns
// false, as it does when only the help text was asked for.
template <class Config>
bool parse_args(Config& cfg, int argc, char** argv, const char* usage) {
  auto error = cfg.parse_command_line(argc, argv);
  if constexpr (std::is_base_of_v<example_config, Config>)
    if (error.empty() && cfg.seconds < 0)
      error = "option --seconds must be 0 (run until stopped) or more, not "
              + std::to_string(cfg.seconds);
  if (error.empty())
    return !cfg.cli_helptext_printed;
  std::cerr << "error: " << error << "\nusage: " << usage << '\n';
  return false;
}

// Flags of the network examples that keep state. The same program runs as
// the driver or, with --serve-state, as a worker node holding the state for
// a driver started with --stream.nodes=["host:port"].
struct checkpointed_config : network_config {
  std::string checkpoint_dir;
  uint16_t serve_state = 0;
  std::string serve_address;
  explicit checkpointed_config(std::string default_dir)
    : checkpoint_dir(std::move(default_dir)) {
    opt_group{custom_options_, "global"}
      .add(checkpoint_dir, "checkpoint-dir", "where the state is checkpointed")
      .add(serve_state, "serve-state",
           "be a state node listening on this port instead of running")
      .add(serve_address, "serve-address",
           "the address a state node listens on (127.0.0.1; 0.0.0.0: all)");
  }

  // Loads the middleman (and OpenSSL with --openssl.* keys) when work
  // lives on other nodes, or nodes may join (call after parsing, before
  // the actor system exists).
  void load_middleman_if_needed() {
    if (serve_state != 0 || caf_stream::read_stream_options(*this).with_nodes())
      caf_stream::load_node_modules(*this);
  }
};

// As a worker node: serves `ssc`'s graph on `port` at `address` (empty:
// 127.0.0.1) until the program is stopped, or for `seconds` if positive.
inline int serve_until_stopped(caf_stream::streaming_context& ssc,
                               uint16_t port, const std::string& address,
                               int seconds) {
  auto bound = ssc.serve(port, address);
  std::cout << "serving on port " << bound << std::endl;
  // SIGINT or SIGTERM stop the node: it leaves the driver it joined.
  caf_stream::shutdown_hook hook{ssc};
  if (seconds > 0)
    ssc.await_termination_or_timeout(std::chrono::seconds(seconds));
  else
    ssc.await_termination();
  ssc.stop();
  return 0;
}

// As a state node (--serve-state): serves the state of `ssc`'s graph until
// the program is stopped. Returns false if the context should run instead.
inline bool serve_state_if_asked(const checkpointed_config& cfg,
                                 caf_stream::streaming_context& ssc) {
  if (cfg.serve_state == 0)
    return false;
  serve_until_stopped(ssc, cfg.serve_state, cfg.serve_address, cfg.seconds);
  return true;
}

// HOST and PORT from the positional arguments; prints `usage` and returns
// false when they are missing.
inline bool host_and_port(const example_config& cfg, const char* usage,
                          std::string& host, uint16_t& port) {
  if (cfg.remainder.size() < 2) {
    std::cerr << "usage: " << usage << '\n';
    return false;
  }
  host = cfg.remainder[0];
  const auto& text = cfg.remainder[1];
  if (text.empty() || text.size() > 5
      || text.find_first_not_of("0123456789") != std::string::npos
      || std::stoi(text) == 0 || std::stoi(text) > 65535) {
    std::cerr << "error: PORT must be a number from 1 to 65535, got '" << text
              << "'\n";
    return false;
  }
  port = static_cast<uint16_t>(std::stoi(text));
  return true;
}
