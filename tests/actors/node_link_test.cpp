#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <future>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/detail/scope_guard.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/openssl/remote_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

// What the runtime does about CAF 0.17.6's TLS connections
// (`actors/src/node_link.cpp`): an OpenSSL error that a failed connection
// leaves on the I/O thread does not close the next TLS connection that
// reads there. Two actor systems in this process, each with its own I/O
// thread, over TLS without certificates (anonymous ECDH).

namespace {

struct tls_config : caf::actor_system_config {
  tls_config() {
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
  }
};

caf::behavior echo(caf::event_based_actor*) {
  return {[](int32_t x) { return x; }};
}

// Leaves an error in the OpenSSL error queue of `sys`'s I/O thread, as a
// connection whose peer died leaves it there; returns once it is there.
void leave_error_on_io_thread(caf::actor_system& sys) {
  std::promise<void> done;
  sys.middleman().backend().post([&] {
    ERR_raise(ERR_LIB_SSL, SSL_R_UNEXPECTED_EOF_WHILE_READING);
    done.set_value();
  });
  done.get_future().wait();
}

} // namespace

TEST_CASE("an OpenSSL error left on the I/O thread closes no other TLS "
          "connection",
          "[actors][tls]") {
  tls_config server_cfg;
  caf::actor_system server{server_cfg};
  tls_config client_cfg;
  caf::actor_system client{client_cfg};
  auto answering = server.spawn(echo);
  // The server's system ends once its actor did.
  auto end_it = caf::detail::make_scope_guard(
    [&] { caf::anon_send_exit(answering, caf::exit_reason::user_shutdown); });
  auto port = caf::openssl::publish(answering, 0, "127.0.0.1", true);
  REQUIRE(port);
  auto remote = caf::openssl::remote_actor(client, "127.0.0.1", *port);
  REQUIRE(remote);
  caf::scoped_actor self{client};
  // The answer, or -1 if the request failed (60 s: a bound for a stuck
  // test, not a timing assumption).
  auto ask = [&](int32_t x) {
    int32_t result = -1;
    self->request(*remote, std::chrono::seconds(60), x)
      .receive([&](int32_t y) { result = y; }, [](caf::error&) {});
    return result;
  };
  REQUIRE(ask(1) == 1);
  leave_error_on_io_thread(client);
  // Each answer's read ends waiting for more data, where the error would
  // show: the connection must still be there for the next request.
  CHECK(ask(2) == 2);
  CHECK(ask(3) == 3);
  CHECK(ask(4) == 4);
}
