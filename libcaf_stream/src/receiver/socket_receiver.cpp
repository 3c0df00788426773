#include "caf_stream/receiver/socket_receiver.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "caf_stream/detail/line_splitter.hpp"
#include "caf_stream/receiver/raw_socket_receiver.hpp"
#include "caf_stream/receiver/socket_stream_receiver.hpp"

namespace caf_stream {

namespace detail {

namespace {

// A read of a `socket_streambuf` waits this long at most before it asks
// whether the receiver stopped.
constexpr int wait_ms = 100;

// Waits until `fd`'s connection attempt completed; false if `stopped()`
// held first.
bool connected(int fd, const std::function<bool()>& stopped) {
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    auto rc = ::poll(&p, 1, wait_ms);
    if (rc > 0 || (rc < 0 && errno != EINTR))
      return true;
    if (rc == 0 && stopped())
      return false;
  }
}

} // namespace

int connect_tcp(const std::string& host, uint16_t port, std::string& err,
                const std::function<bool()>& stopped) {
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
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  ai->ai_protocol);
    if (fd < 0)
      continue;
    int code = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      code = errno;
      if (code == EINPROGRESS) {
        if (!connected(fd, stopped)) {
          ::close(fd);
          ::freeaddrinfo(res);
          err.clear();
          return -1;
        }
        socklen_t len = sizeof(code);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len) != 0)
          code = errno;
      }
    }
    if (code == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      break;
    }
    err = std::strerror(code);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

socket_streambuf::socket_streambuf(int fd, std::function<bool()> stopped)
  : fd_(fd), stopped_(std::move(stopped)), buf_(64 * 1024) {
  timeval tv{0, wait_ms * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

socket_streambuf::~socket_streambuf() {
  ::close(fd_);
}

socket_streambuf::int_type socket_streambuf::underflow() {
  if (gptr() < egptr())
    return traits_type::to_int_type(*gptr());
  for (;;) {
    auto n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      setg(buf_.data(), buf_.data(), buf_.data() + n);
      return traits_type::to_int_type(buf_[0]);
    }
    if (n == 0)
      return traits_type::eof();
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (stopped_())
        return traits_type::eof();
      continue;
    }
    error_ = std::strerror(errno);
    return traits_type::eof();
  }
}

void receive_connected(
  receiver_base& self, const std::string& host, uint16_t port,
  const std::function<std::string(std::istream&, const std::string&)>& read) {
  auto where = host + ":" + std::to_string(port);
  auto stopped = [&self] { return self.is_stopped(); };
  std::string err;
  auto fd = connect_tcp(host, port, err, stopped);
  if (fd < 0) {
    if (!self.is_stopped())
      self.restart("error connecting to " + where + ": " + err);
    return;
  }
  socket_streambuf buf{fd, stopped};
  std::istream in{&buf};
  auto why = read(in, where);
  if (self.is_stopped())
    return;
  if (!buf.error().empty())
    why = "error receiving from " + where + ": " + buf.error();
  self.restart(why);
}

raw_read read_raw_block(std::istream& in, std::string& body, size_t& got,
                        size_t& length) {
  constexpr size_t head = 4;
  char prefix[head];
  in.read(prefix, head);
  got = static_cast<size_t>(in.gcount());
  length = head;
  if (got == 0)
    return raw_read::end;
  if (got < head)
    return raw_read::cut_short;
  uint32_t n = 0;
  for (auto c : prefix)
    n = (n << 8) | static_cast<unsigned char>(c);
  if (n > static_cast<uint32_t>(std::numeric_limits<int32_t>::max()))
    throw std::length_error("its length is negative ("
                            + std::to_string(static_cast<int32_t>(n)) + ")");
  length = head + n;
  // In pieces, as they arrive: memory grows with the bytes that came, not
  // with the length the peer claimed.
  constexpr size_t piece = 64 * 1024;
  body.clear();
  while (body.size() < n) {
    auto old = body.size();
    auto want = std::min(piece, n - old);
    body.resize(old + want);
    in.read(body.data() + old, static_cast<std::streamsize>(want));
    auto read = static_cast<size_t>(in.gcount());
    body.resize(old + read);
    if (read < want) {
      got = head + body.size();
      return raw_read::cut_short;
    }
  }
  got = length;
  return raw_read::block;
}

} // namespace detail

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
  auto fd = detail::connect_tcp(host_, port_, err,
                                [this] { return is_stopped(); });
  auto where = host_ + ":" + std::to_string(port_);
  if (fd < 0) {
    if (!is_stopped())
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
