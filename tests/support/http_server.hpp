#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace support {

/// A scripted HTTP/1.1 server on 127.0.0.1 for one test. Each connection it
/// accepts gets the next handler the test queued with `add` (a 503 when
/// none is left). Handlers run on the server's thread, one connection at a
/// time; the connection closes when its handler returns.
class http_server {
public:
  /// One accepted connection, its request read.
  class connection {
  public:
    connection(int fd, std::string head, const std::atomic<bool>& done)
      : fd_(fd), head_(std::move(head)), done_(done) {
      // nop
    }

    /// The request: its head (request line and headers) and body.
    const std::string& head() const {
      return head_;
    }

    /// Sends bytes as they are.
    void send(const std::string& bytes) {
      size_t sent = 0;
      while (sent < bytes.size()) {
        auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent,
                        MSG_NOSIGNAL);
        if (n <= 0)
          return; // the client is gone
        sent += static_cast<size_t>(n);
      }
    }

    /// Sends a status line and headers; the body follows in chunks.
    void send_head(int status, const std::string& content_type) {
      send("HTTP/1.1 " + std::to_string(status) + " "
           + (status < 300 ? "OK" : "Error") + "\r\nContent-Type: "
           + content_type + "\r\nTransfer-Encoding: chunked\r\n\r\n");
    }

    /// Sends `data` as one chunk of the body.
    void send_chunk(const std::string& data) {
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
      send(size + data + "\r\n");
    }

    /// Sends a whole response with a body of known length.
    void send_response(int status, const std::string& body) {
      send("HTTP/1.1 " + std::to_string(status) + " "
           + (status < 300 ? "OK" : "Error")
           + "\r\nContent-Type: application/json\r\nContent-Length: "
           + std::to_string(body.size()) + "\r\n\r\n" + body);
    }

    /// Waits until the client closes the connection (or the server stops).
    void wait_closed() {
      char buf[1024];
      while (!done_) {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, 100) > 0
            && ::recv(fd_, buf, sizeof(buf), 0) <= 0)
          return;
      }
    }

  private:
    int fd_;
    std::string head_;
    const std::atomic<bool>& done_;
  };

  using handler = std::function<void(connection&)>;

  http_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0
        || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(fd_, 8) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("the test HTTP server cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { serve(); }};
  }

  ~http_server() {
    done_ = true;
    thread_.join();
    ::close(fd_);
  }

  http_server(const http_server&) = delete;

  http_server& operator=(const http_server&) = delete;

  /// "http://127.0.0.1:<port><path>".
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// Queues the handler of the next connection.
  void add(handler h) {
    std::lock_guard<std::mutex> guard{mtx_};
    handlers_.push_back(std::move(h));
  }

  /// The requests served so far (heads and bodies).
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
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
      auto head = read_request(client);
      handler h;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        requests_.push_back(head);
        if (!handlers_.empty()) {
          h = std::move(handlers_.front());
          handlers_.pop_front();
        }
      }
      connection conn{client, head, done_};
      if (h)
        h(conn);
      else
        conn.send_response(503, "{\"error\":\"no response scripted\"}");
      ::close(client);
    }
  }

  // Reads the request's head and its body (of Content-Length bytes).
  std::string read_request(int client) {
    std::string text;
    char buf[1024];
    auto complete = [&] {
      auto end = text.find("\r\n\r\n");
      if (end == std::string::npos)
        return false;
      size_t length = 0;
      auto head = text.substr(0, end);
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto at = head.find("\r\ncontent-length:"); at != std::string::npos)
        length = std::stoul(head.substr(at + 17));
      return text.size() >= end + 4 + length;
    };
    while (!done_ && !complete() && text.size() < 1024 * 1024) {
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

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false};
  mutable std::mutex mtx_;
  std::deque<handler> handlers_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

} // namespace support
