#include "caf_stream/receiver/socket_receiver.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace caf_stream {

namespace {

// Connects to host:port; returns the socket or -1 with `err` set.
int connect_to(const std::string& host, uint16_t port, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
      rc != 0) {
    err = std::string{"cannot resolve: "} + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                  ai->ai_protocol);
    if (fd < 0)
      continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    err = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

// The length of the line [first, end) without a trailing '\r'.
size_t line_length(const char* first, const char* end) {
  auto n = static_cast<size_t>(end - first);
  return n > 0 && end[-1] == '\r' ? n - 1 : n;
}

} // namespace

socket_receiver::socket_receiver(std::string host, uint16_t port,
                                 size_t max_line_length)
  : host_(std::move(host)),
    port_(port),
    max_line_length_(
      std::min(max_line_length, std::numeric_limits<size_t>::max() / 4)) {
  // The limit is clamped so that the read buffer's size (a line and its
  // "\r\n") cannot overflow.
}

socket_receiver::~socket_receiver() {
  on_stop();
}

void socket_receiver::on_start() {
  thread_ = std::thread{[this] { receive(); }};
}

void socket_receiver::on_stop() {
  // Wakes the receiving thread up from recv(); it then sees is_stopped().
  // The runtime marks the receiver stopped first: a thread still connecting
  // sees that when it stores its socket, and does not read.
  {
    std::lock_guard<std::mutex> guard{fd_mtx_};
    if (fd_ >= 0)
      ::shutdown(fd_, SHUT_RDWR);
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void socket_receiver::receive() {
  std::string err;
  auto fd = connect_to(host_, port_, err);
  auto where = host_ + ":" + std::to_string(port_);
  if (fd < 0) {
    restart("error connecting to " + where + ": " + err);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{fd_mtx_};
    if (is_stopped()) {
      ::close(fd);
      return;
    }
    fd_ = fd;
  }
  // buf[0, used) holds the start of a line whose '\n' has not arrived yet.
  // Each read's complete lines go to the block as they are (store_lines):
  // the tasks reading the block cut them into strings, in parallel.
  std::vector<char> buf(64 * 1024);
  size_t used = 0;
  bool skipping = false; // inside an overlong line, until its '\n'
  auto reject = [&] {
    ++rejected_;
    report_error("socket_text_stream " + where + ": line longer than "
                 + std::to_string(max_line_length_)
                 + " bytes skipped (stream.receiver.max-line-length)");
  };
  for (;;) {
    if (used == buf.size()) {
      // One line fills the buffer: grow it up to the longest line allowed
      // (and its "\r\n"), or skip the line.
      if (used > max_line_length_ + 1) {
        reject();
        skipping = true;
        used = 0;
      } else {
        buf.resize(std::min(buf.size() * 2, max_line_length_ + 2));
      }
    }
    auto n = ::recv(fd, buf.data() + used, buf.size() - used, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || is_stopped()) {
      if (!is_stopped()) {
        // Spark keeps what it got and restarts when the stream ends.
        if (used > 0 && !skipping) {
          if (line_length(buf.data(), buf.data() + used) > max_line_length_) {
            reject();
          } else {
            buf.resize(used);
            buf.push_back('\n');
            store_lines(buf.data(), buf.size(), 1);
          }
        }
        restart(n == 0 ? "socket data stream from " + where + " had no more data"
                       : "error receiving from " + where + ": "
                           + std::strerror(errno));
      }
      break;
    }
    const char* first = buf.data();
    const char* scan = first + used; // buf[0, used) holds no '\n'
    const char* last = scan + n;
    if (skipping) {
      auto nl = static_cast<const char*>(std::memchr(scan, '\n', last - scan));
      if (nl == nullptr) {
        used = 0;
        continue;
      }
      skipping = false;
      first = scan = nl + 1;
    }
    // Lines [stored, first) are complete and go to the block together; an
    // overlong line between them is left out.
    const char* stored = first;
    int64_t count = 0;
    while (auto nl = static_cast<const char*>(
             std::memchr(scan, '\n', last - scan))) {
      if (line_length(first, nl) > max_line_length_) {
        store_lines(stored, first - stored, count);
        reject();
        stored = nl + 1;
        count = 0;
      } else {
        ++count;
      }
      first = scan = nl + 1;
    }
    store_lines(stored, first - stored, count);
    used = static_cast<size_t>(last - first);
    std::memmove(buf.data(), first, used);
  }
  {
    std::lock_guard<std::mutex> guard{fd_mtx_};
    fd_ = -1;
  }
  ::close(fd);
}

} // namespace caf_stream
