#include "caf_stream/flume/receiver.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/detail/unique_fd.hpp"
#include "caf_stream/flume/avro_rpc.hpp"

namespace caf_stream::flume {

namespace detail {

void check_arguments(const std::string& host, int port, const settings& cfg,
                     const char* what) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string{what} + ": " + why);
  };
  if (host.empty())
    fail("no host to listen on (\"0.0.0.0\" for every interface)");
  if (port <= 0 || port > 65535)
    fail("port " + std::to_string(port)
         + " is not a port a Flume AvroSink can be pointed at (1 to 65535)");
  if (cfg.max_request_size < 1024)
    fail("max_request_size " + std::to_string(cfg.max_request_size)
         + " is under 1 KiB, too small for a call of one event");
  if (cfg.max_connections == 0)
    fail("max_connections is 0: no client could connect");
}

namespace {

using caf_stream::detail::unique_fd;

// Waits at most this long in poll(): a stopping receiver notices within it.
constexpr int poll_timeout_ms = 100;

// A reply to a client that does not read gives up after this long.
constexpr time_t send_timeout_s = 10;

// Listens on host:port; throws `std::runtime_error` saying why not.
unique_fd listen_on(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
      rc != 0)
    throw std::runtime_error(std::string{"cannot resolve: "}
                             + ::gai_strerror(rc));
  std::string err = "no address";
  unique_fd result;
  for (auto* ai = res; ai != nullptr && result.get() < 0; ai = ai->ai_next) {
    unique_fd fd{::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          ai->ai_protocol)};
    int on = 1;
    if (fd.get() >= 0
        && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on))
             == 0
        && ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0
        && ::listen(fd.get(), SOMAXCONN) == 0)
      result = std::move(fd);
    else
      err = std::strerror(errno);
  }
  ::freeaddrinfo(res);
  if (result.get() < 0)
    throw std::runtime_error(err);
  return result;
}

std::string peer_name(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return "a client";
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host,
                    sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV)
      != 0)
    return "a client";
  return std::string{host} + ":" + port;
}

bool send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent,
                    MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

struct client {
  client(unique_fd sock, const settings& cfg)
    : fd(std::move(sock)),
      peer(peer_name(fd.get())),
      conn(cfg.max_request_size, cfg.enable_decompression) {
    // nop
  }

  unique_fd fd;
  std::string peer;
  flume_connection conn;
};

} // namespace

flume_receiver::flume_receiver(std::string host, uint16_t port,
                               settings cfg)
  : host_(std::move(host)), port_(port), cfg_(cfg) {
  // nop
}

flume_receiver::~flume_receiver() {
  join();
}

void flume_receiver::receive() {
  auto where = "flume " + host_ + ":" + std::to_string(port_);
  try {
    serve_clients(where);
  } catch (const std::exception& e) {
    restart(where + ": " + e.what());
  }
}

void flume_receiver::serve_clients(const std::string& where) {
  auto log = caf_stream::detail::logger("flume");
  unique_fd listener;
  try {
    listener = listen_on(host_, port_);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string{"cannot listen: "} + e.what());
  }
  log->debug("{}: listening", where);
  auto serve = [this](request&& req) {
    if (is_stopped())
      return status::failed;
    try {
      if (req.what == request::kind::append && !logs_blocks())
        store(std::move(req.events.front()));
      else
        store(std::move(req.events));
    } catch (const std::exception& e) {
      report_error("storing failed: " + std::string{e.what()});
      return status::failed;
    }
    // Stored while stopping, the events may not be processed: the client
    // sends them again.
    return is_stopped() ? status::failed : status::ok;
  };
  std::vector<std::unique_ptr<client>> clients;
  std::vector<pollfd> fds;
  std::vector<char> buf(64 * 1024);
  std::string replies;
  // accept() ran out of file descriptors: the next clients wait in the
  // backlog for one round of poll() (as they do while the clients are at
  // the limit), and the shortage is reported once.
  bool short_of_fds = false;
  bool shortage_reported = false;
  while (!is_stopped()) {
    fds.clear();
    auto accepting = clients.size() < cfg_.max_connections && !short_of_fds;
    short_of_fds = false;
    fds.push_back(pollfd{accepting ? listener.get() : -1, POLLIN, 0});
    for (auto& c : clients)
      fds.push_back(pollfd{c->fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms) < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error(std::string{"poll failed: "}
                               + std::strerror(errno));
    }
    // Each client whose socket is ready, in the order of `fds`; closed ones
    // leave `clients` after the loop.
    std::vector<bool> closed(clients.size(), false);
    for (size_t i = 0; i < clients.size(); ++i) {
      if (fds[i + 1].revents == 0)
        continue;
      auto& c = *clients[i];
      auto n = ::recv(c.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        if (c.conn.in_request())
          report_error(where + ": " + c.peer
                       + " disconnected in the middle of a request ("
                       + std::to_string(c.conn.pending_bytes())
                       + " bytes received); nothing of it was stored or "
                         "acknowledged");
        else
          log->debug("{}: {} disconnected", where, c.peer);
        closed[i] = true;
        continue;
      }
      replies.clear();
      try {
        c.conn.feed(buf.data(), static_cast<size_t>(n), serve, replies);
      } catch (const protocol_error& e) {
        send_all(c.fd.get(), replies);
        report_error(where + ": " + c.peer + " sent " + e.what()
                     + "; connection closed");
        closed[i] = true;
        continue;
      }
      if (!send_all(c.fd.get(), replies)) {
        report_error(where + ": cannot reply to " + c.peer + ": "
                     + std::strerror(errno) + "; connection closed");
        closed[i] = true;
      }
    }
    size_t kept = 0;
    for (size_t i = 0; i < clients.size(); ++i)
      if (!closed[i])
        clients[kept++] = std::move(clients[i]);
    clients.resize(kept);
    if (fds[0].revents != 0) {
      while (clients.size() < cfg_.max_connections) {
        unique_fd fd{::accept4(listener.get(), nullptr, nullptr,
                               SOCK_CLOEXEC)};
        if (fd.get() < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
              || errno == ENOMEM) {
            short_of_fds = true;
            if (!shortage_reported)
              report_error(where + ": cannot accept a client: "
                           + std::strerror(errno));
            shortage_reported = true;
          }
          break;
        }
        shortage_reported = false;
        timeval timeout{send_timeout_s, 0};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout,
                     sizeof(timeout));
        clients.push_back(std::make_unique<client>(std::move(fd), cfg_));
        log->debug("{}: {} connected", where, clients.back()->peer);
      }
    }
  }
}

} // namespace detail

} // namespace caf_stream::flume
