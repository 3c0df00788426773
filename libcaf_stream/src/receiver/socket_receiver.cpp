#include "caf_stream/receiver/socket_receiver.hpp"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caf_stream/detail/line_splitter.hpp"

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
  : host_(std::move(host)),
    port_(port),
    max_line_length_(max_line_length) {
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
  // Each read's complete lines go to the block as they are (store_lines):
  // the tasks reading the block cut them into strings, in parallel.
  detail::line_splitter lines{max_line_length_};
  auto store = [this](const char* data, size_t size, int64_t count) {
    store_lines(data, size, count);
  };
  auto reject = [&] {
    ++rejected_;
    report_error("socket_text_stream " + where + ": line longer than "
                 + std::to_string(lines.max_line_length())
                 + " bytes skipped (stream.receiver.max-line-length)");
  };
  for (;;) {
    auto [buf, size] = lines.space();
    auto n = ::recv(fd, buf, size, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || is_stopped()) {
      if (!is_stopped()) {
        // Spark keeps what it got and restarts when the stream ends.
        auto what = n == 0 ? "socket data stream from " + where
                               + " had no more data"
                           : "error receiving from " + where + ": "
                               + std::strerror(errno);
        lines.finish(store, reject);
        restart(what);
      }
      break;
    }
    lines.consume(static_cast<size_t>(n), store, reject);
  }
  {
    std::lock_guard<std::mutex> guard{fd_mtx_};
    fd_ = -1;
  }
  ::close(fd);
}

} // namespace caf_stream
