#include "caf_stream/mqtt/receiver.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>

#include <mosquitto.h>

#include "caf_stream/error.hpp"

namespace caf_stream::mqtt::detail {

namespace {

[[noreturn]] void refuse(const char* what, const std::string& reason) {
  throw std::invalid_argument(std::string{what} + ": " + reason);
}

std::string random_client_id() {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick{0, sizeof(alphabet) - 2};
  std::string id = "caf-stream-";
  for (int i = 0; i < 12; ++i)
    id += alphabet[pick(rd)];
  return id;
}

// The text of a libmosquitto result; MOSQ_ERR_ERRNO's reason is in errno.
std::string reason_of(int rc) {
  if (rc == MOSQ_ERR_ERRNO)
    return std::strerror(errno);
  return mosquitto_strerror(rc);
}

} // namespace

broker_address parse_broker_url(const std::string& url, const char* what) {
  broker_address result;
  std::string rest;
  struct scheme {
    const char* prefix;
    bool tls;
  };
  for (auto [prefix, tls] : {scheme{"tcp://", false}, scheme{"mqtt://", false},
                             scheme{"ssl://", true}, scheme{"mqtts://", true}})
    if (url.rfind(prefix, 0) == 0) {
      rest = url.substr(std::strlen(prefix));
      result.tls = tls;
      result.port = tls ? 8883 : 1883;
    }
  if (rest.empty())
    refuse(what, "'" + url + "' is not a broker address (tcp://host:port, "
                 "or ssl://host:port over TLS)");
  auto colon = rest.rfind(':');
  result.host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    auto port = rest.substr(colon + 1);
    size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(port, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (port.empty() || used != port.size() || value < 1 || value > 65535)
      refuse(what, "'" + url + "' has no valid port (1 to 65535)");
    result.port = value;
  }
  if (result.host.empty() || result.host.find('/') != std::string::npos)
    refuse(what, "'" + url + "' is not a broker address (tcp://host:port)");
  return result;
}

void check_subscription(const broker_address& addr,
                        const std::vector<std::string>& topics,
                        const settings& cfg, const char* what) {
  if (topics.empty())
    refuse(what, "no topic to subscribe to (\"#\" takes every topic)");
  for (const auto& topic : topics)
    if (topic.empty() || mosquitto_sub_topic_check(topic.c_str()) != 0)
      refuse(what, "'" + topic + "' is not a valid topic filter ('+' and '#' "
                   "stand for whole levels, '#' only at the end)");
  if (cfg.qos < 0 || cfg.qos > 2)
    refuse(what, "QoS " + std::to_string(cfg.qos) + " is not 0, 1 or 2");
  if (!cfg.clean_session && cfg.client_id.empty())
    refuse(what, "a session that is not clean needs a client id (the broker "
                 "finds the session by it)");
  auto keep_alive = std::chrono::duration_cast<std::chrono::seconds>(
    cfg.keep_alive);
  if (keep_alive.count() < 5 || keep_alive.count() > 65535)
    refuse(what, "keep-alive " + std::to_string(cfg.keep_alive.count())
                   + "ms is outside 5 s to 65535 s");
  if (cfg.connection_timeout.count() <= 0)
    refuse(what, "the connection timeout must be positive");
  auto tls_files = {&cfg.ca_file, &cfg.cert_file, &cfg.key_file};
  if (!addr.tls) {
    if (std::any_of(tls_files.begin(), tls_files.end(),
                    [](const std::string* x) { return !x->empty(); }))
      refuse(what, "TLS files are set for a broker without TLS: its URL "
                   "takes ssl:// instead of tcp://");
    return;
  }
  if (cfg.cert_file.empty() != cfg.key_file.empty())
    refuse(what, "a client certificate needs both cert_file and key_file");
  for (auto file : tls_files)
    if (!file->empty() && !std::ifstream{*file})
      refuse(what, "cannot read '" + *file + "'");
}

struct mqtt_client::impl {
  mosquitto* mosq = nullptr;
  std::string broker;
  std::vector<message>* out = nullptr;
  std::vector<message> early;
  bool connected = false;
  bool subscribed = false;
  bool closed = false;
  std::string failure;
  // libmosquitto's last error log line (OpenSSL's reason for a failed
  // handshake).
  std::string logged_error;
  // Whether the last `wait` saw the connection closed.
  bool hung_up = false;

  ~impl() {
    if (mosq == nullptr)
      return;
    close();
    mosquitto_destroy(mosq);
  }

  // Ends the connection with a FIN, never a reset: the broker reads what
  // was sent up to here (acknowledgements included) before it sees the
  // end. Closing a socket with unread input resets it instead, and the
  // broker then drops what it has not read yet.
  void close() noexcept {
    if (closed)
      return;
    closed = true;
    auto fd = mosquitto_socket(mosq);
    if (fd < 0 || ::shutdown(fd, SHUT_WR) != 0)
      return;
    // Drains the input until the broker closes its side (bounded).
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 100) < 0 && errno != EINTR)
        return;
      if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      if (::recv(fd, buf, sizeof(buf), 0) <= 0)
        return;
    }
  }

  [[noreturn]] void fail(const std::string& reason) const {
    throw stream_error(errc::source_failure,
                       "mqtt " + broker + ": " + reason);
  }

  void check(int rc, const char* doing) const {
    if (!failure.empty())
      fail(failure);
    if (rc == MOSQ_ERR_TLS)
      fail(std::string{doing} + " failed: the TLS connection failed"
           + (logged_error.empty() ? "" : ": " + logged_error)
           + " (is the broker's certificate signed by a CA of ca_file, or "
             "of the system without one, and does it name the URL's "
             "host?)");
    if (rc != MOSQ_ERR_SUCCESS)
      fail(std::string{doing} + " failed: " + reason_of(rc));
  }

  // Waits up to `timeout_ms` for the socket; returns whether it is readable.
  bool wait(int timeout_ms, bool for_write) {
    pollfd pfd{mosquitto_socket(mosq), POLLIN, 0};
    if (for_write)
      pfd.events |= POLLOUT;
    auto n = ::poll(&pfd, 1, timeout_ms);
    if (n < 0 && errno != EINTR)
      fail(std::string{"poll failed: "} + std::strerror(errno));
    if (n > 0 && (pfd.revents & (POLLERR | POLLNVAL)) != 0
        && (pfd.revents & POLLIN) == 0) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      fail(std::string{"the connection failed: "}
           + std::strerror(err != 0 ? err : ECONNRESET));
    }
    hung_up = n > 0 && (pfd.revents & POLLHUP) != 0;
    return n > 0 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
  }

  static void on_connect(mosquitto*, void* obj, int rc) {
    auto self = static_cast<impl*>(obj);
    if (rc == 0)
      self->connected = true;
    else
      self->failure = std::string{"the broker refused the connection: "}
                      + mosquitto_connack_string(rc);
  }

  static void on_subscribe(mosquitto*, void* obj, int, int count,
                           const int* granted) {
    auto self = static_cast<impl*>(obj);
    for (int i = 0; i < count; ++i)
      if (granted[i] > 2)
        self->failure = "the broker refused a subscription";
    self->subscribed = true;
  }

  static void on_log(mosquitto*, void* obj, int level, const char* text) {
    if (level == MOSQ_LOG_ERR && text != nullptr)
      static_cast<impl*>(obj)->logged_error = text;
  }

  static void on_message(mosquitto*, void* obj, const mosquitto_message* m) {
    auto self = static_cast<impl*>(obj);
    auto& dst = self->out != nullptr ? *self->out : self->early;
    auto payload = static_cast<const char*>(m->payload);
    dst.push_back(message{m->topic,
                          std::string{payload, payload + m->payloadlen},
                          m->qos, m->retain});
  }
};

mqtt_client::mqtt_client(const broker_address& addr,
                         const std::vector<std::string>& topics,
                         const settings& cfg)
  : impl_(std::make_unique<impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  auto& st = *impl_;
  st.broker = addr.host + ":" + std::to_string(addr.port);
  auto id = cfg.client_id.empty() ? random_client_id() : cfg.client_id;
  st.mosq = mosquitto_new(id.c_str(), cfg.clean_session, &st);
  if (st.mosq == nullptr)
    st.fail(std::string{"cannot create a client: "} + std::strerror(errno));
  // The client's own thread drives it: libmosquitto then writes only in
  // mosquitto_loop_write, which lets acknowledgements wait for `store`.
  mosquitto_threaded_set(st.mosq, true);
  mosquitto_connect_callback_set(st.mosq, impl::on_connect);
  mosquitto_subscribe_callback_set(st.mosq, impl::on_subscribe);
  mosquitto_message_callback_set(st.mosq, impl::on_message);
  mosquitto_log_callback_set(st.mosq, impl::on_log);
  if (addr.tls) {
    // Without a CA file, the system's CAs (Debian's /etc/ssl/certs).
    auto file = [](const std::string& x) {
      return x.empty() ? nullptr : x.c_str();
    };
    st.check(mosquitto_tls_set(st.mosq, file(cfg.ca_file),
                               cfg.ca_file.empty() ? "/etc/ssl/certs"
                                                   : nullptr,
                               file(cfg.cert_file), file(cfg.key_file),
                               nullptr),
             "setting up TLS");
  }
  if (!cfg.username.empty())
    st.check(mosquitto_username_pw_set(st.mosq, cfg.username.c_str(),
                                       cfg.password.empty()
                                         ? nullptr
                                         : cfg.password.c_str()),
             "setting the user name");
  auto keep_alive = static_cast<int>(
    std::chrono::duration_cast<std::chrono::seconds>(cfg.keep_alive).count());
  st.check(mosquitto_connect_async(st.mosq, addr.host.c_str(), addr.port,
                                   keep_alive),
           "connecting");
  // Subscribing right behind CONNECT: a session the broker kept may send
  // messages as soon as it accepts the connection, and their
  // acknowledgements must not go out with the SUBSCRIBE.
  std::vector<char*> filters;
  for (const auto& topic : topics)
    filters.push_back(const_cast<char*>(topic.c_str()));
  st.check(mosquitto_subscribe_multiple(st.mosq, nullptr,
                                        static_cast<int>(filters.size()),
                                        filters.data(), cfg.qos, 0, nullptr),
           "subscribing");
  auto deadline = std::chrono::steady_clock::now() + cfg.connection_timeout;
  // Ready once the broker accepted the connection and either confirmed the
  // subscriptions or sent a message (the confirmation then comes later).
  while (!st.connected || (!st.subscribed && st.early.empty())) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      st.fail("no answer within "
              + std::to_string(cfg.connection_timeout.count())
              + "ms of connecting");
    auto may_write = st.early.empty() && mosquitto_want_write(st.mosq);
    auto readable = st.wait(static_cast<int>(left.count()), may_write);
    if (may_write)
      st.check(mosquitto_loop_write(st.mosq, 1), "connecting");
    if (readable)
      st.check(mosquitto_loop_read(st.mosq, 1), "connecting");
    // libmosquitto goes on with a TLS handshake on a connection that
    // closed, or was never made.
    if (st.hung_up && !st.connected)
      st.fail("the connection closed before the broker accepted it"
              + (st.logged_error.empty() ? std::string{}
                                         : ": " + st.logged_error));
  }
}

mqtt_client::~mqtt_client() {
  // nop
}

void mqtt_client::receive(std::vector<message>& out, duration timeout,
                          size_t max) {
  auto& st = *impl_;
  auto size_before = out.size();
  out.insert(out.end(), std::make_move_iterator(st.early.begin()),
             std::make_move_iterator(st.early.end()));
  st.early.clear();
  st.out = &out;
  struct reset {
    impl& st;
    ~reset() {
      st.out = nullptr;
    }
  } guard{st};
  auto timeout_ms = static_cast<int>(
    std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  // Reads on while more is waiting in the socket: what arrived together is
  // stored (and acknowledged) together.
  for (bool first = true; out.size() - size_before < max; first = false) {
    if (!st.wait(first && out.size() == size_before ? timeout_ms : 0, false))
      break;
    st.check(mosquitto_loop_read(st.mosq, 1), "receiving");
  }
  st.check(mosquitto_loop_misc(st.mosq), "keeping the connection alive");
}

void mqtt_client::acknowledge() {
  auto& st = *impl_;
  if (mosquitto_want_write(st.mosq))
    st.check(mosquitto_loop_write(st.mosq, 1), "sending acknowledgements");
}

void mqtt_client::disconnect() {
  acknowledge();
  impl_->close();
}

} // namespace caf_stream::mqtt::detail
