#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace support {

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice
/// for port 0), for a server a test starts.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bool ok = fd >= 0
            && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0
            && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                 == 0;
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot find a free port");
  return ntohs(addr.sin_port);
}

/// Starts a server with `start(port)` on a port that was free a moment
/// ago. A port found free may be taken before the server binds it (as the
/// local port of another process's connection), so when `start` throws
/// `std::runtime_error` another port is tried, three times at most.
template <class Start>
void start_on_free_port(Start start) {
  for (int attempt = 1;; ++attempt) {
    try {
      start(free_port());
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3)
        throw;
    }
  }
}

/// A server that listens on a port that was free a moment ago, made with
/// `make(port)` (a `std::unique_ptr`), and its port; another port is tried
/// as `start_on_free_port` does.
template <class Make>
auto make_on_free_port(Make make) {
  std::pair<decltype(make(uint16_t{})), uint16_t> result;
  start_on_free_port([&](int port) {
    result.second = static_cast<uint16_t>(port);
    result.first = make(result.second);
  });
  return result;
}

/// Returns whether a server accepts TCP connections on 127.0.0.1:`port`.
inline bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = fd >= 0
            && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
                 == 0;
  if (fd >= 0)
    ::close(fd);
  return ok;
}

} // namespace support
