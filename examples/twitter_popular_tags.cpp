// Spark's TwitterPopularTags: the most popular hashtags of the last 60 and
// the last 10 seconds, every second, from the X API v2 filtered stream.
//
//   X_BEARER_TOKEN=... twitter_popular_tags RULE... [--base-url URL]
//                      [--seconds N]
//   twitter_popular_tags --fake [--seconds N]
//
// The RULEs become the stream's filter rules ("#cats", "cats lang:en", ...).
// The bearer token comes from the environment, not the command line.
// --fake serves a built-in stream of made-up posts on 127.0.0.1 (an HTTP
// server of this program speaking the same API), so the program runs
// offline. Options take `--key value` or `--key=value`.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/twitter.hpp"

#include "example_support.hpp"

namespace {

struct config : example_config {
  bool fake = false;
  std::string base_url = "https://api.x.com";
  config() {
    opt_group{custom_options_, "global"}
      .add(fake, "fake", "serve made-up posts on 127.0.0.1 ourselves")
      .add(base_url, "base-url", "the API's base URL");
  }
};

// The filtered stream of the X API v2 on 127.0.0.1, with made-up posts:
// rule requests get an empty rule set and its confirmation, the stream
// sends about 50 posts a second with a keep-alive line now and then.
class fake_api {
public:
  fake_api() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0
        || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(fd_, 4) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("--fake: cannot listen on 127.0.0.1");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { serve(); }};
  }

  ~fake_api() {
    done_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

private:
  void serve() {
    while (!done_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0)
        continue;
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0)
        continue;
      auto request = read_request(client);
      if (request.rfind("GET /2/tweets/search/stream?", 0) == 0)
        stream_posts(client);
      else // the rules: none yet, and whatever is added is taken
        send(client, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 11\r\n\r\n{\"meta\":{}}");
      ::close(client);
    }
  }

  // The request line and headers (a rules request's small body may follow
  // unread: the connection closes after the answer).
  std::string read_request(int client) {
    std::string text;
    char buf[4096];
    while (!done_ && text.find("\r\n\r\n") == std::string::npos) {
      pollfd pfd{client, POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0)
        continue;
      auto n = ::recv(client, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      text.append(buf, static_cast<size_t>(n));
    }
    return text;
  }

  void stream_posts(int client) {
    if (!send(client, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Connection: close\r\n\r\n"))
      return;
    const char* tags[] = {"caf",   "cpp",   "spark", "streaming",
                          "actors", "kafka", "mqtt",  "cats"};
    for (uint64_t n = 1; !done_; ++n) {
      // A skewed choice, so that some tags are clearly more popular.
      auto first = tags[(n * n) % 5];
      auto second = tags[(n * 7) % 8];
      auto text = std::string{"post "} + std::to_string(n) + " #" + first
                  + " #" + second;
      auto at = text.find('#');
      auto at2 = text.find('#', at + 1);
      auto post = "{\"data\":{\"id\":\"" + std::to_string(n) + "\",\"text\":\""
                  + text + "\",\"lang\":\"en\",\"entities\":{\"hashtags\":["
                  + tag(at, first) + "," + tag(at2, second) + "]}}}\r\n";
      if (n % 50 == 0)
        post += "\r\n"; // a keep-alive
      if (!send(client, post))
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  static std::string tag(size_t start, const char* name) {
    auto end = start + 1 + std::string{name}.size();
    return "{\"start\":" + std::to_string(start) + ",\"end\":"
           + std::to_string(end) + ",\"tag\":\"" + name + "\"}";
  }

  static bool send(int client, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      auto n = ::send(client, bytes.data() + sent, bytes.size() - sent,
                      MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

using tag_count = std::pair<int64_t, std::string>;

// Prints the ten most frequent tags of each window.
void print_top(const caf_stream::dstream<tag_count>& counts,
               const std::string& span) {
  counts.foreach_rdd([span](const caf_stream::rdd<tag_count>& r) {
    auto top = r.take(10);
    std::cout << "\nPopular topics in last " << span << " (" << r.count()
              << " total):\n";
    for (const auto& [count, tag] : top)
      std::cout << tag << " (" << count << " tweets)\n";
  });
}

} // namespace

int main(int argc, char** argv) {
  const char* usage = "twitter_popular_tags RULE... [--base-url URL] "
                      "[--seconds N] (token in X_BEARER_TOKEN) | "
                      "twitter_popular_tags --fake [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string token = "fake-token";
  std::vector<std::string> rules = cfg.remainder;
  if (!cfg.fake) {
    auto env = std::getenv("X_BEARER_TOKEN");
    if (env == nullptr || *env == '\0' || rules.empty()) {
      std::cerr << "error: give RULEs and the bearer token in X_BEARER_TOKEN "
                   "(or run with --fake)\nusage: "
                << usage << '\n';
      return 1;
    }
    token = env;
  } else if (rules.empty()) {
    rules = {"#caf OR #cpp OR #spark"};
  }
  try {
    std::unique_ptr<fake_api> fake;
    caf_stream::twitter::settings settings;
    settings.base_url = cfg.base_url;
    if (cfg.fake) {
      fake = std::make_unique<fake_api>();
      settings.base_url = fake->base_url();
    }
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto posts = caf_stream::twitter::create_stream(ssc, token, rules,
                                                    settings);
    auto hash_tags = posts.flat_map([](const caf_stream::twitter::status& s) {
      std::vector<std::string> result;
      for (const auto& t : s.hashtags)
        result.push_back("#" + t);
      return result;
    });
    auto top_counts = [&](int seconds) {
      return hash_tags
        .map([](const std::string& t) { return std::make_pair(t, int64_t{1}); })
        .reduce_by_key_and_window([](int64_t a, int64_t b) { return a + b; },
                                  std::chrono::seconds(seconds))
        .map([](const std::pair<std::string, int64_t>& x) {
          return tag_count{x.second, x.first};
        })
        .transform([](const caf_stream::rdd<tag_count>& r) {
          return r.sort_by_key(false);
        });
    };
    print_top(top_counts(60), "60 seconds");
    print_top(top_counts(10), "10 seconds");
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
