#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

namespace support {

/// A TCP server on 127.0.0.1 (ephemeral port) that accepts one client, sends
/// `chunks` one write each, and closes the connection.
class one_shot_server {
public:
  explicit one_shot_server(std::vector<std::string> chunks) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this, chunks = std::move(chunks)] {
      auto client = ::accept(fd_, nullptr, nullptr);
      if (client < 0)
        return;
      int one = 1;
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      for (auto& c : chunks)
        ::send(client, c.data(), c.size(), MSG_NOSIGNAL);
      ::close(client);
    }};
  }

  ~one_shot_server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  one_shot_server(const one_shot_server&) = delete;
  one_shot_server& operator=(const one_shot_server&) = delete;

  uint16_t port() const {
    return port_;
  }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace support
