#include "caf_stream/actors/node_link.hpp"

#include <set>
#include <utility>

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/error.hpp"

// CAF 0.17.6's TLS session (libcaf_openssl's `session::do_some` and
// `handle_ssl_result`) calls these without emptying the thread's OpenSSL
// error queue first, which SSL_get_error(3) requires, and leaves there the
// error of a connection that failed (a peer that died): the next call on
// the same I/O thread that would only wait for data (SSL_ERROR_WANT_READ)
// then reads as failed, and CAF closes that connection too. So this
// program's definitions, which the dynamic linker binds libcaf_openssl's
// calls to, empty the queue and call OpenSSL's own (`RTLD_NEXT`). Emptying
// it before a call is what OpenSSL asks of every caller, so other users of
// OpenSSL in the program (libcurl, librdkafka) lose nothing.
namespace {

template <class F>
F openssl_function(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  using fn = int (*)(SSL*, void*, int);
  static const auto next = openssl_function<fn>("SSL_read");
  ERR_clear_error();
  return next != nullptr ? next(ssl, buf, num) : -1;
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  using fn = int (*)(SSL*, const void*, int);
  static const auto next = openssl_function<fn>("SSL_write");
  ERR_clear_error();
  return next != nullptr ? next(ssl, buf, num) : -1;
}

int SSL_connect(SSL* ssl) {
  using fn = int (*)(SSL*);
  static const auto next = openssl_function<fn>("SSL_connect");
  ERR_clear_error();
  return next != nullptr ? next(ssl) : -1;
}

int SSL_accept(SSL* ssl) {
  using fn = int (*)(SSL*);
  static const auto next = openssl_function<fn>("SSL_accept");
  ERR_clear_error();
  return next != nullptr ? next(ssl) : -1;
}

} // extern "C"

namespace caf_stream::actors {

bool nodes_use_tls(caf::actor_system& sys) {
  return sys.has_openssl_manager();
}

caf::io::middleman_actor node_connector(caf::actor_system& sys) {
  if (nodes_use_tls(sys))
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

bool handshake_cut(const caf::error& e) {
  return e == caf::sec::connection_timeout;
}

caf::expected<caf::actor> connect_node(caf::blocking_actor* self,
                                       const std::string& address,
                                       const char* role, duration timeout) {
  auto& sys = self->system();
  if (!sys.has_middleman())
    throw stream_error(errc::invalid_config,
                       "stream.nodes is set, but the actor system has no "
                       "middleman: load caf::io::middleman in its "
                       "configuration");
  auto [host, port] = parse_node_address(address, "stream.nodes");
  caf::actor result;
  std::string failure = "no actor is published on that port";
  bool again = true;
  for (int attempt = 0; attempt < 2 && again; ++attempt) {
    again = false;
    // Through the middleman actor, which a request can bound.
    self->request(node_connector(sys), timeout, caf::connect_atom::value, host,
                  port)
      .receive(
        [&](caf::node_id&, caf::strong_actor_ptr& x, std::set<std::string>&) {
          result = caf::actor_cast<caf::actor>(std::move(x));
        },
        [&](caf::error& e) {
          const auto& ctx = e.context();
          again = handshake_cut(e);
          if (e == caf::sec::request_timeout)
            failure = "no answer within " + to_string(timeout);
          else if (ctx.match_elements<std::string>())
            failure = ctx.get_as<std::string>(0);
          else
            failure = sys.render(e);
        });
  }
  if (result)
    return result;
  if (nodes_use_tls(sys))
    failure += " (over TLS: a node without TLS, or whose certificate the CA "
               "in openssl.cafile did not sign, is refused)";
  return caf::make_error(errc::job_failure, std::string{"cannot reach the "}
                                              + role + " " + address + ": "
                                              + failure);
}

caf::expected<size_t> node_slots(caf::blocking_actor* self,
                                 const caf::actor& node,
                                 const std::string& fingerprint,
                                 const std::string& program,
                                 duration timeout) {
  caf::expected<size_t> result{caf::sec::request_timeout};
  self->request(node, timeout, slots_atom::value, fingerprint, program)
    .receive([&](size_t n) { result = n; },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, caf::actor node,
                                     uint16_t port, const std::string& host) {
  if (nodes_use_tls(sys))
    return caf::openssl::publish(node, port, host.c_str(), true);
  return sys.middleman().publish(node, port, host.c_str(), true);
}

caf::expected<void> close_node_port(caf::actor_system& sys, uint16_t port) {
  // Through the connector: CAF 0.17.6's `openssl::unpublish` does not
  // compile.
  caf::scoped_actor self{sys};
  caf::error failure;
  self
    ->request(node_connector(sys), caf::infinite, caf::close_atom::value,
              port)
    .receive([] {}, [&](caf::error& e) { failure = std::move(e); });
  if (failure)
    return failure;
  return {};
}

} // namespace caf_stream::actors
