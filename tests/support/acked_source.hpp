#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "caf_stream/receiver/receiver.hpp"
#include "caf_stream/streaming_context.hpp"

namespace support {

namespace detail {

// Reads one line ending in '\n' from `fd` into `line` (without it); false
// when the peer closed the connection or it broke.
inline bool read_line(int fd, std::string& line) {
  line.clear();
  char c = 0;
  for (;;) {
    auto n = ::recv(fd, &c, 1, 0);
    if (n <= 0)
      return false;
    if (c == '\n')
      return true;
    line += c;
  }
}

inline bool write_all(int fd, const std::string& x) {
  size_t done = 0;
  while (done < x.size()) {
    auto n = ::send(fd, x.data() + done, x.size() - done, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

} // namespace detail

/// A reliable source for the receiver tests (what Spark calls a reliable
/// receiver's source: it learns what `store` took). A TCP server on
/// 127.0.0.1 that sends the numbers [0, total) to one connected receiver
/// (`acked_receiver`) at a time, as lines of `chunk` numbers, each after the
/// receiver acknowledged the line before ("ack <next number>"). A receiver
/// that connects gets everything from the first number not acknowledged, so
/// that a lost receiver loses nothing: what it acknowledged was stored. It
/// takes over from the receiver before it, whose connection the source
/// closes (as a Kafka consumer group hands a partition to its new member):
/// a frozen receiver does not hold the source. Only numbers below `hold_at`
/// go out until `release`.
class acked_source {
public:
  acked_source(int64_t total, int64_t chunk, int64_t hold_at)
    : total_(total), chunk_(chunk), limit_(hold_at) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0
        || ::listen(fd_, 4) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("the acked source cannot listen");
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread{[this] { accept_clients(); }};
    thread_ = std::thread{[this] { serve(); }};
  }

  ~acked_source() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
      if (client_ >= 0)
        ::shutdown(client_, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    thread_.join();
    if (next_client_ >= 0)
      ::close(next_client_);
    ::close(fd_);
  }

  uint16_t port() const noexcept {
    return port_;
  }

  /// Lets the numbers from `hold_at` on out.
  void release() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      limit_ = total_;
    }
    cv_.notify_all();
  }

  /// The first number not acknowledged yet.
  int64_t acked() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return acked_;
  }

  /// Waits until the numbers below `n` are acknowledged; false after
  /// `timeout` (a bound for a stuck test, not a timing assumption).
  bool wait_acked(int64_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return acked_ >= n; });
  }

  /// How many receivers connected so far.
  int connections() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return connections_;
  }

private:
  // Accepts the receivers that connect: the newest takes over from the
  // one served now, whose connection closes.
  void accept_clients() {
    for (;;) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0)
        return;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (stopping_) {
          ::close(client);
          return;
        }
        if (next_client_ >= 0)
          ::close(next_client_);
        next_client_ = client;
        if (client_ >= 0)
          ::shutdown(client_, SHUT_RDWR);
      }
      cv_.notify_all();
    }
  }

  // Serves the receivers one after the other.
  void serve() {
    for (;;) {
      int client = -1;
      {
        std::unique_lock<std::mutex> guard{mtx_};
        cv_.wait(guard, [&] { return stopping_ || next_client_ >= 0; });
        if (stopping_)
          return;
        client = std::exchange(next_client_, -1);
        client_ = client;
        ++connections_;
      }
      talk(client);
      std::lock_guard<std::mutex> guard{mtx_};
      client_ = -1;
      ::close(client);
    }
  }

  // Sends lines to `client` from the first number not acknowledged, one
  // after each acknowledgement, until it goes away or another receiver
  // takes over.
  void talk(int client) {
    int64_t next;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      next = acked_;
    }
    std::string line;
    for (;;) {
      int64_t last;
      {
        std::unique_lock<std::mutex> guard{mtx_};
        cv_.wait(guard, [&] {
          return stopping_ || next_client_ >= 0 || next < limit_;
        });
        if (stopping_ || next_client_ >= 0)
          return;
        last = std::min(next + chunk_, limit_);
      }
      std::string out;
      for (auto x = next; x < last; ++x)
        out += std::to_string(x) + (x + 1 < last ? " " : "\n");
      if (!detail::write_all(client, out) || !detail::read_line(client, line)
          || line.rfind("ack ", 0) != 0)
        return;
      next = std::stoll(line.substr(4));
      {
        std::lock_guard<std::mutex> guard{mtx_};
        acked_ = std::max(acked_, next);
      }
      cv_.notify_all();
    }
  }

  int64_t total_;
  int64_t chunk_;
  int fd_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  int64_t limit_;
  int64_t acked_ = 0;
  // The receiver served now, and the one that takes over from it next.
  int client_ = -1;
  int next_client_ = -1;
  int connections_ = 0;
  bool stopping_ = false;
  std::thread acceptor_;
  std::thread thread_;
};

/// The receiver of an `acked_source` on 127.0.0.1:`port`: stores each line
/// it reads as one block (`store(std::vector)`, which returns once the
/// block is stored, on a worker node once the driver has it too), or its
/// numbers one by one unless `whole` (they wait for the next seal), then
/// acknowledges it. Restarts when the source goes away or cannot be
/// reached.
class acked_receiver final : public caf_stream::receiver<int64_t> {
public:
  explicit acked_receiver(uint16_t port, bool whole = true)
    : port_(port), whole_(whole) {
    // nop
  }

  ~acked_receiver() override {
    on_stop();
  }

  void on_start() override {
    thread_ = std::thread{[this] { receive(); }};
  }

  // The runtime marks the receiver stopped before it calls this.
  void on_stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (fd_ >= 0)
        ::shutdown(fd_, SHUT_RDWR);
    }
    if (thread_.joinable())
      thread_.join();
  }

private:
  void receive() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (fd < 0
        || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
             != 0) {
      if (fd >= 0)
        ::close(fd);
      restart("cannot reach the acked source");
      return;
    }
    {
      // A stop that came while connecting saw no socket to shut down.
      std::lock_guard<std::mutex> guard{mtx_};
      if (is_stopped()) {
        ::close(fd);
        return;
      }
      fd_ = fd;
    }
    std::string line;
    std::string why = "the acked source closed the connection";
    while (!is_stopped() && detail::read_line(fd, line)) {
      std::vector<int64_t> xs;
      std::istringstream in{line};
      for (int64_t x; in >> x;)
        xs.push_back(x);
      auto next = xs.empty() ? int64_t{0} : xs.back() + 1;
      try {
        if (whole_)
          store(std::move(xs));
        else
          for (auto x : xs)
            store(x);
      } catch (const std::exception& e) {
        why = std::string{"store failed: "} + e.what();
        break;
      }
      if (!detail::write_all(fd, "ack " + std::to_string(next) + "\n"))
        break;
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      fd_ = -1;
    }
    ::close(fd);
    if (!is_stopped())
      restart(why);
  }

  uint16_t port_;
  bool whole_;
  std::mutex mtx_;
  int fd_ = -1;
  std::thread thread_;
};

/// The stream of the worker receiver tests, built alike by the driver (the
/// test) and by the worker nodes (`state_node_child --receiver`, or
/// `--receiver-records` for a receiver that stores records one by one).
inline caf_stream::dstream<int64_t>
acked_stream(caf_stream::streaming_context& ssc, uint16_t port,
             bool whole = true) {
  return ssc.receiver_stream<int64_t>(
    std::make_unique<acked_receiver>(port, whole));
}

/// The numbers of an acked stream by their residue mod 4, summed per batch:
/// `reduce_by_key`, a shuffle whose map tasks may run on worker nodes.
using residue_sum = std::pair<int64_t, int64_t>;

/// The graph of the kept block tests, built alike by the driver (the test)
/// and by the worker nodes (`state_node_child --receiver-sums`): the acked
/// stream's numbers go to `numbers` (output 0) and their sums by residue
/// (stream 2) to `sums` (output 1). With `mapped` (`state_node_child
/// --receiver-mapped-sums`) the numbers go through a map (stream 1) first,
/// whose partitions the nodes that keep the blocks compute (a result
/// stage), and the sums are stream 3.
template <class Numbers, class Sums>
void acked_sums(caf_stream::streaming_context& ssc, uint16_t port,
                Numbers numbers, Sums sums, bool mapped = false) {
  auto xs = acked_stream(ssc, port);
  if (mapped)
    xs.map([](int64_t x) { return x; }).foreach_rdd(std::move(numbers));
  else
    xs.foreach_rdd(std::move(numbers));
  xs.map([](int64_t x) { return residue_sum{x % 4, x}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2)
    .foreach_rdd(std::move(sums));
}

/// The other graph of the kept block tests (`state_node_child
/// --receiver-windows`): the acked stream's numbers of the last 2 s, every
/// 2 s, go to `numbers`. A window reads a batch's blocks one batch after
/// the batch was cut.
template <class Numbers>
void acked_windows(caf_stream::streaming_context& ssc, uint16_t port,
                   Numbers numbers) {
  acked_stream(ssc, port)
    .window(std::chrono::seconds(2), std::chrono::seconds(2))
    .foreach_rdd(std::move(numbers));
}

/// The graph of the kept block tests' result stages (`state_node_child
/// --receiver-filtered`): the acked stream's multiples of 3, times 10, go
/// to `numbers`. Their partitions are computed where the blocks are.
template <class Numbers>
void acked_filtered(caf_stream::streaming_context& ssc, uint16_t port,
                    Numbers numbers) {
  acked_stream(ssc, port)
    .filter([](int64_t x) { return x % 3 == 0; })
    .map([](int64_t x) { return x * 10; })
    .foreach_rdd(std::move(numbers));
}

} // namespace support
