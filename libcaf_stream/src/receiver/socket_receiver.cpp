#include "caf_stream/receiver/socket_receiver.hpp"

#include <cerrno>
#include <cstring>

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

} // namespace

socket_receiver::socket_receiver(std::string host, uint16_t port,
                                 size_t max_line_length)
  : host_(std::move(host)), port_(port), max_line_length_(max_line_length) {
  // nop
}

socket_receiver::~socket_receiver() {
  on_stop();
}

void socket_receiver::on_start() {
  thread_ = std::thread{[this] { receive(); }};
}

void socket_receiver::on_stop() {
  // Wakes the receiving thread up from recv(); it then sees is_stopped().
  if (auto fd = fd_.load(); fd >= 0)
    ::shutdown(fd, SHUT_RDWR);
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
  fd_ = fd;
  std::string line;
  bool skipping = false; // inside an overlong line, until its '\n'
  char buf[64 * 1024];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || is_stopped()) {
      if (!is_stopped()) {
        // Spark keeps what it got and restarts when the stream ends.
        if (!line.empty() && !skipping)
          store(std::move(line));
        restart(n == 0 ? "socket data stream from " + where + " had no more data"
                       : "error receiving from " + where + ": "
                           + std::strerror(errno));
      }
      break;
    }
    const char* first = buf;
    const char* last = buf + n;
    while (first != last) {
      auto nl = static_cast<const char*>(std::memchr(first, '\n', last - first));
      auto end = nl != nullptr ? nl : last;
      if (!skipping) {
        line.append(first, end);
        if (line.size() > max_line_length_ + (nl != nullptr ? 1 : 0)) {
          ++rejected_;
          report_error("socket_text_stream " + where + ": line longer than "
                       + std::to_string(max_line_length_)
                       + " bytes skipped (stream.receiver.max-line-length)");
          line.clear();
          skipping = true;
        }
      }
      if (nl == nullptr)
        break;
      if (!skipping) {
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        // The next line is likely as long: one allocation instead of the
        // string's doubling steps.
        auto len = line.size();
        store(std::move(line));
        line = std::string{};
        line.reserve(len);
      }
      skipping = false;
      first = nl + 1;
    }
  }
  fd_ = -1;
  ::close(fd);
}

} // namespace caf_stream
