#include "caf_stream/flume/polling_receiver.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/detail/unique_fd.hpp"
#include "caf_stream/flume/spark_sink_protocol.hpp"
#include "caf_stream/receiver/socket_stream_receiver.hpp"

namespace caf_stream::flume {

namespace detail {

void check_polling_arguments(const std::vector<address>& sinks,
                             const polling_settings& cfg, const char* what) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string{what} + ": " + why);
  };
  if (sinks.empty())
    fail("no Spark Sink to poll");
  for (const auto& sink : sinks) {
    if (sink.host.empty())
      fail("a Spark Sink without a host");
    if (sink.port <= 0 || sink.port > 65535)
      fail("port " + std::to_string(sink.port) + " of " + sink.host
           + " is not a port a Spark Sink listens on (1 to 65535)");
  }
  if (cfg.max_batch_size < 1)
    fail("max_batch_size " + std::to_string(cfg.max_batch_size)
         + " asks for no events (1 at least)");
  if (cfg.parallelism < 1)
    fail("parallelism " + std::to_string(cfg.parallelism)
         + " runs no call (1 at least)");
  if (cfg.max_reply_size < 1024)
    fail("max_reply_size " + std::to_string(cfg.max_reply_size)
         + " is under 1 KiB, too small for a batch of one event");
  if (cfg.reconnect_delay.count() < 0)
    fail("reconnect_delay " + to_string(cfg.reconnect_delay)
         + " is negative");
}

namespace {

using caf_stream::detail::unique_fd;
using clock_type = std::chrono::steady_clock;

// A wait for a reply asks this often whether the receiver stopped.
constexpr int wait_ms = 100;

// A request to a sink that does not read gives up after this long.
constexpr time_t send_timeout_s = 10;

// A sink's connection and the calls on it.
struct sink_link {
  sink_link(const address& where, size_t max_reply)
    : where(where),
      name(where.host + ":" + std::to_string(where.port)),
      rpc(max_reply) {
    // nop
  }

  address where;
  std::string name;
  unique_fd fd;
  spark_sink_requestor rpc;
  // When to call again, after a failure or an error batch.
  clock_type::time_point retry_at;
  // Whether the failure in a row so far was reported: one sink that stays
  // down is reported once, until it serves a batch again.
  bool failing = false;
};

// Connects `link` anew, whose replies may take `max_reply` bytes (a new
// connection starts with a handshake); throws `std::runtime_error` saying
// why not. False if `stopped()` held first.
bool connect(sink_link& link, size_t max_reply,
             const std::function<bool()>& stopped) {
  std::string err;
  unique_fd fd{caf_stream::detail::connect_tcp(
    link.where.host, static_cast<uint16_t>(link.where.port), err, stopped)};
  if (fd.get() < 0) {
    if (err.empty())
      return false;
    throw std::runtime_error("cannot connect: " + err);
  }
  int on = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  timeval timeout{send_timeout_s, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  link.fd = std::move(fd);
  link.rpc = spark_sink_requestor{max_reply};
  return true;
}

void send_request(sink_link& link, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(link.fd.get(), bytes.data() + sent, bytes.size() - sent,
                    MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error(std::string{"cannot send a call: "}
                               + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

// Reads until the reply to the call sent last; false if `stopped()` held
// first. Throws `protocol_error` for a reply that is not SparkFlumeProtocol
// and `std::runtime_error` for a connection that ends.
bool await_reply(sink_link& link, const std::function<bool()>& stopped,
                 std::optional<event_batch>& reply) {
  std::vector<std::optional<event_batch>> replies;
  char buf[64 * 1024];
  while (replies.empty()) {
    pollfd p{link.fd.get(), POLLIN, 0};
    auto rc = ::poll(&p, 1, wait_ms);
    if (rc < 0 && errno != EINTR)
      throw std::runtime_error(std::string{"poll failed: "}
                               + std::strerror(errno));
    if (rc <= 0) {
      if (stopped())
        return false;
      continue;
    }
    auto n = ::recv(link.fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      throw std::runtime_error("the sink closed the connection before its "
                               "reply");
    if (n < 0)
      throw std::runtime_error(std::string{"cannot receive: "}
                               + std::strerror(errno));
    link.rpc.feed(buf, static_cast<size_t>(n), replies);
  }
  reply = std::move(replies.front());
  return true;
}

} // namespace

flume_polling_receiver::flume_polling_receiver(std::vector<address> sinks,
                                               polling_settings cfg)
  : sinks_(std::move(sinks)), cfg_(cfg) {
  // nop
}

flume_polling_receiver::~flume_polling_receiver() {
  join();
}

void flume_polling_receiver::receive() {
  auto callers = std::min(static_cast<size_t>(cfg_.parallelism),
                          sinks_.size());
  auto run = [this, callers](size_t first) {
    try {
      pull(first, callers);
    } catch (const std::exception& e) {
      restart("flume polling: " + std::string{e.what()});
    }
  };
  std::vector<std::thread> threads;
  try {
    for (size_t i = 1; i < callers; ++i)
      threads.emplace_back(run, i);
  } catch (const std::system_error& e) {
    // The callers started pull until the restart stops them.
    restart("flume polling: cannot start a caller thread: "
            + std::string{e.what()});
  }
  run(0);
  for (auto& t : threads)
    t.join();
}

void flume_polling_receiver::pull(size_t first, size_t step) {
  auto log = caf_stream::detail::logger("flume");
  std::function<bool()> stopped = [this] { return is_stopped(); };
  std::vector<sink_link> links;
  for (auto i = first; i < sinks_.size(); i += step)
    links.emplace_back(sinks_[i], cfg_.max_reply_size);
  // Reports what went wrong with `link` (the first time in a row; again at
  // debug level) and pauses it.
  auto fail = [&](sink_link& link, const std::string& why) {
    auto what = "flume polling " + link.name + ": " + why;
    if (!link.failing)
      report_error(what + " (asked again every "
                   + to_string(cfg_.reconnect_delay) + ")");
    else
      log->debug("{}", what);
    link.failing = true;
    link.retry_at = clock_type::now() + cfg_.reconnect_delay;
  };
  size_t turn = 0;
  std::optional<event_batch> reply;
  while (!is_stopped()) {
    // The next sink in turn that is not waiting; else a wait for the first
    // whose pause ends.
    auto now = clock_type::now();
    sink_link* link = nullptr;
    auto until = now + std::chrono::milliseconds{wait_ms};
    for (size_t i = 0; i < links.size() && link == nullptr; ++i) {
      auto& candidate = links[(turn + i) % links.size()];
      if (candidate.retry_at <= now)
        link = &candidate;
      else
        until = std::min(until, candidate.retry_at);
    }
    if (link == nullptr) {
      std::this_thread::sleep_until(until);
      continue;
    }
    turn = (static_cast<size_t>(link - links.data()) + 1) % links.size();
    try {
      if (link->fd.get() < 0
          && !connect(*link, cfg_.max_reply_size, stopped))
        return;
      std::string request;
      link->rpc.get_event_batch(request, cfg_.max_batch_size);
      send_request(*link, request);
      if (!await_reply(*link, stopped, reply))
        return;
      auto batch = std::move(*reply);
      if (!batch.error_msg.empty()) {
        fail(*link, "the sink sent no events: " + batch.error_msg);
        continue;
      }
      auto count = batch.events.size();
      // Why storing failed (empty: it did not).
      std::string failed;
      try {
        if (!is_stopped() && count > 0)
          store(std::move(batch.events));
      } catch (const std::exception& e) {
        failed = std::string{"storing failed: "} + e.what()
                 + "; nack sent, the sink sends the events again";
      }
      // Stored while stopping, the events may not be processed: the sink
      // sends them again.
      auto stored = failed.empty() && !is_stopped();
      request.clear();
      if (stored)
        link->rpc.ack(request, batch.sequence_number);
      else
        link->rpc.nack(request, batch.sequence_number);
      send_request(*link, request);
      if (!await_reply(*link, stopped, reply))
        return;
      log->debug("flume polling {}: {} events of {} {}", link->name, count,
                 batch.sequence_number, stored ? "acknowledged" : "refused");
      if (!failed.empty())
        fail(*link, failed);
      else
        link->failing = false;
    } catch (const std::exception& e) {
      std::string why = e.what();
      if (link->fd.get() >= 0)
        why += "; connection closed (the sink sends again what it sent "
               "and was not acknowledged)";
      link->fd.reset();
      fail(*link, why);
    }
  }
}

} // namespace detail

} // namespace caf_stream::flume
