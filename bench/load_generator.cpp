// The harness's load generator, a process of its own: listens on 127.0.0.1,
// accepts one client and sends it 100-byte lines of Zipf-distributed words
// (fixed seed) at a fixed rate, or as fast as the client takes them. Prints
// `port P` once listening and, when done, `sent N max-lag-ms L` (how far the
// sender fell behind its schedule: a client that reads too slowly pushes
// back through TCP's window).
//
//   load_generator [--port=0] [--rate=LINES_PER_S (0: as fast as possible)]
//                  [--seconds=10] [--lines=0 (no limit)] [--vocabulary=100000]
//                  [--zipf=1.0] [--seed=7]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "args.hpp"
#include "lines.hpp"

namespace {

using steady = std::chrono::steady_clock;

// Lines sent in one pass over the pool before it repeats.
constexpr size_t pool_lines = 1 << 16;

class socket_fd {
public:
  explicit socket_fd(int fd) noexcept : fd_(fd) {
    // nop
  }

  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;

  ~socket_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int get() const noexcept {
    return fd_;
  }

private:
  int fd_;
};

// Sends `n` whole lines starting at line `first` of the pool; false if the
// client went away.
bool send_lines(int fd, const std::string& pool, size_t stride, size_t first,
                size_t n) {
  while (n > 0) {
    auto at = first % pool_lines;
    auto k = std::min(n, pool_lines - at);
    const char* p = pool.data() + at * stride;
    size_t left = k * stride;
    while (left > 0) {
      auto sent = ::send(fd, p, left, MSG_NOSIGNAL);
      if (sent <= 0)
        return false;
      p += sent;
      left -= static_cast<size_t>(sent);
    }
    first += k;
    n -= k;
  }
  return true;
}

int run(int argc, char** argv) {
  bench::check_args(argc, argv,
                    "load_generator [--port=0] [--rate=LINES_PER_S] "
                    "[--seconds=10] [--lines=0] [--vocabulary=100000] "
                    "[--zipf=1.0] [--seed=7]",
                    {"port", "rate", "seconds", "lines", "vocabulary", "zipf",
                     "seed"});
  auto port = static_cast<uint16_t>(bench::arg(argc, argv, "port", 0));
  auto rate = bench::arg_number(argc, argv, "rate", 0);
  auto seconds = bench::arg_number(argc, argv, "seconds", 10);
  auto max_lines = bench::arg(argc, argv, "lines", 0);
  bench::line_spec spec;
  spec.vocabulary = bench::arg(argc, argv, "vocabulary", spec.vocabulary);
  spec.zipf = bench::arg_number(argc, argv, "zipf", spec.zipf);
  spec.seed = bench::arg(argc, argv, "seed", spec.seed);
  if (spec.vocabulary == 0)
    throw std::invalid_argument("--vocabulary: must be positive");
  bench::line_generator gen{spec};
  std::string pool;
  auto stride = spec.line_bytes + 1;
  pool.reserve(pool_lines * stride);
  for (size_t i = 0; i < pool_lines; ++i)
    pool += gen.next() + '\n';

  socket_fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
        != 0
      || ::listen(listener.get(), 1) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1:"
                             + std::to_string(port));
  socklen_t len = sizeof(addr);
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("port %u\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  socket_fd client{::accept(listener.get(), nullptr, nullptr)};
  if (client.get() < 0)
    throw std::runtime_error("accept failed");

  auto t0 = steady::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(steady::now() - t0).count();
  };
  size_t sent = 0;
  double max_lag_s = 0;
  auto limit = max_lines > 0 ? max_lines : SIZE_MAX;
  if (rate <= 0) {
    while (sent < limit && elapsed() < seconds) {
      auto n = std::min<size_t>(512, limit - sent);
      if (!send_lines(client.get(), pool, stride, sent, n))
        break;
      sent += n;
    }
  } else {
    // One slot per millisecond: send what the schedule owes, then sleep.
    for (size_t slot = 1;; ++slot) {
      auto t = elapsed();
      if (t >= seconds || sent >= limit)
        break;
      auto due = std::min(limit, static_cast<size_t>(rate * t));
      max_lag_s = std::max(max_lag_s, (static_cast<double>(due) - sent) / rate);
      if (due > sent) {
        if (!send_lines(client.get(), pool, stride, sent, due - sent))
          break;
        sent = due;
      }
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(slot));
    }
  }
  std::printf("sent %zu max-lag-ms %.0f\n", sent, max_lag_s * 1000);
  std::fflush(stdout);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_generator: %s\n", e.what());
    return 1;
  }
}
