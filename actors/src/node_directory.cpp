#include "caf_stream/actors/node_directory.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/node_registry.hpp"

namespace caf_stream::actors {

namespace {

// -- the driver's directory ---------------------------------------------------

struct directory_state {
  node_registry registry{{}};
  std::string fingerprint;
  std::string program;
  // The nodes that joined, by their joiner, and their node actors.
  std::map<caf::actor_addr, std::string> joined;
  std::map<std::string, caf::actor> node_actors;
  std::shared_ptr<spdlog::logger> log = detail::logger("nodes");
  static inline const char* name = "caf_stream.node_directory";
};

using directory_actor = caf::stateful_actor<directory_state>;

// "1 worker node", "2 worker nodes", for the log.
std::string nodes_in_all(const node_registry& registry) {
  auto n = registry.nodes().size();
  return std::to_string(n) + (n == 1 ? " worker node" : " worker nodes");
}

// Puts the node of `joiner`, reached at `address` through `node`, on the
// list.
void add_node(directory_actor* self, const caf::actor& joiner,
              const std::string& address, const caf::actor& node) {
  auto& st = self->state;
  if (st.joined.count(joiner.address()) > 0)
    return;
  st.joined.emplace(joiner.address(), address);
  st.node_actors[address] = node;
  self->monitor(joiner);
  st.registry.join(address);
  st.log->info("the worker node {} joined: {} in all", address,
               nodes_in_all(st.registry));
}

// Takes the node of `joiner` off the list: it left, or was lost (`what`,
// logged at `level`).
void remove_node(directory_actor* self, const caf::actor_addr& joiner,
                 spdlog::level::level_enum level, const char* what) {
  auto& st = self->state;
  auto i = st.joined.find(joiner);
  if (i == st.joined.end())
    return;
  auto address = std::move(i->second);
  st.joined.erase(i);
  self->demonitor(joiner);
  // A node back on its port may have joined again before its old
  // connection's loss was noticed.
  for (auto& x : st.joined)
    if (x.second == address)
      return;
  st.registry.leave(address);
  st.node_actors.erase(address);
  st.log->log(level, "the worker node {} {}: {} in all", address, what,
              nodes_in_all(st.registry));
}

caf::behavior node_directory(directory_actor* self,
                             std::vector<std::string> named,
                             std::string fingerprint, std::string program) {
  self->state.registry = node_registry{std::move(named)};
  self->state.fingerprint = std::move(fingerprint);
  self->state.program = std::move(program);
  self->set_down_handler([=](const caf::down_msg& dm) {
    remove_node(self, dm.source, spdlog::level::warn, "was lost");
  });
  return {
    [=](caf::join_atom, const std::string& fingerprint,
        const std::string& program, const std::string& host, uint16_t port,
        const caf::actor& node) -> caf::result<std::string> {
      auto& st = self->state;
      auto why = node_registry::refusal("worker node", st.program,
                                        st.fingerprint, program, fingerprint);
      if (!why.empty()) {
        st.log->error("a worker node on port {} may not join: {}", port, why);
        return caf::make_error(errc::invalid_graph, std::move(why));
      }
      auto joiner = caf::actor_cast<caf::actor>(self->current_sender());
      auto promise = self->make_response_promise<std::string>();
      // Where its connection came from, for a node on every interface.
      self
        ->request(node_connector(self->system()), std::chrono::seconds(10),
                  caf::get_atom::value, joiner.node())
        .then(
          [=](const caf::node_id&, const std::string& peer,
              uint16_t) mutable {
            auto address = node_registry::address_of(host, port, peer);
            add_node(self, joiner, address, node);
            promise.deliver(address);
          },
          [=](caf::error& e) mutable { promise.deliver(std::move(e)); });
      return promise;
    },
    [=](caf::leave_atom) {
      if (auto joiner = self->current_sender())
        remove_node(self, joiner->address(), spdlog::level::info, "left");
    },
    [=](caf::get_atom) { return self->state.registry.nodes(); },
    [=](caf::get_atom, const std::string& address) {
      auto& xs = self->state.node_actors;
      auto i = xs.find(address);
      return i != xs.end() ? i->second : caf::actor{};
    },
  };
}

// -- the worker's joiner ------------------------------------------------------

struct joiner_state {
  std::string driver;
  caf::actor node;
  std::string host;
  uint16_t port = 0;
  std::string fingerprint;
  std::string program;
  duration timeout;
  // The driver's directory while this node is on its list.
  caf::actor directory;
  // Failed tries in a row (the first is logged as a warning).
  size_t failures = 0;
  bool done = false;
  std::shared_ptr<spdlog::logger> log = detail::logger("node");
  static inline const char* name = "caf_stream.node_joiner";
};

using joiner_actor = caf::stateful_actor<joiner_state>;

// Tries again in a second.
void join_later(joiner_actor* self, const std::string& why) {
  auto& st = self->state;
  st.log->log(st.failures++ == 0 ? spdlog::level::warn : spdlog::level::debug,
              "cannot join the driver at {} ({}); trying every second",
              st.driver, why);
  self->delayed_send(self, std::chrono::seconds(1), caf::join_atom::value);
}

void join(joiner_actor* self) {
  auto& st = self->state;
  if (st.done || st.directory)
    return;
  auto [driver_host, driver_port] = parse_node_address(st.driver,
                                                       "stream.driver");
  self
    ->request(node_connector(self->system()), st.timeout,
              caf::connect_atom::value, driver_host, driver_port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& x,
          const std::set<std::string>&) {
        auto& st = self->state;
        auto directory = caf::actor_cast<caf::actor>(std::move(x));
        if (!directory) {
          join_later(self, "nothing listens there for nodes");
          return;
        }
        self
          ->request(directory, st.timeout, caf::join_atom::value,
                    st.fingerprint, st.program, st.host, st.port, st.node)
          .then(
            [=](const std::string& address) {
              auto& st = self->state;
              // The node stopped while it joined.
              if (st.done) {
                self->send(directory, caf::leave_atom::value);
                return;
              }
              st.directory = directory;
              st.failures = 0;
              self->monitor(directory);
              st.log->info("joined the driver at {} as the worker node {}",
                           st.driver, address);
            },
            [=](caf::error& e) {
              if (e == errc::invalid_graph) {
                self->state.done = true;
                self->state.log->error("the driver at {} refused this node: "
                                       "{}",
                                       self->state.driver, message_of(e));
                return;
              }
              join_later(self, self->system().render(e));
            });
      },
      [=](caf::error& e) { join_later(self, self->system().render(e)); });
}

caf::behavior node_joiner(joiner_actor* self, std::string driver,
                          caf::actor node, std::string host, uint16_t port,
                          std::string fingerprint, std::string program,
                          duration timeout) {
  auto& st = self->state;
  st.driver = std::move(driver);
  st.node = std::move(node);
  st.host = std::move(host);
  st.port = port;
  st.fingerprint = std::move(fingerprint);
  st.program = std::move(program);
  st.timeout = timeout;
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.directory.address())
      return;
    st.directory = nullptr;
    if (st.done)
      return;
    // A driver that stopped ends its directory; a lost one's connection
    // breaks.
    if (dm.reason == caf::exit_reason::user_shutdown)
      st.log->info("the driver at {} stopped; joining it again when it is "
                   "back",
                   st.driver);
    else
      st.log->warn("lost the driver at {} ({}); joining it again when it is "
                   "back",
                   st.driver, self->system().render(dm.reason));
    self->delayed_send(self, std::chrono::seconds(1), caf::join_atom::value);
  });
  self->send(self, caf::join_atom::value);
  return {
    [=](caf::join_atom) { join(self); },
    [=](caf::leave_atom) -> caf::result<void> {
      auto& st = self->state;
      st.done = true;
      if (!st.directory)
        return caf::unit;
      auto directory = std::move(st.directory);
      self->demonitor(directory);
      auto promise = self->make_response_promise();
      // A driver that is gone or hung holds up this node's stop no longer.
      auto bound = std::min(st.timeout, duration{5000});
      self->request(directory, bound, caf::leave_atom::value)
        .then(
          [=]() mutable {
            self->state.log->info("left the driver at {}", self->state.driver);
            promise.deliver(caf::unit);
          },
          [=](caf::error& e) mutable {
            self->state.log->warn("leaving the driver at {}: {}",
                                  self->state.driver,
                                  self->system().render(e));
            promise.deliver(caf::unit);
          });
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_node_directory(caf::actor_system& sys,
                                std::vector<std::string> named,
                                std::string fingerprint, std::string program) {
  return sys.spawn(node_directory, std::move(named), std::move(fingerprint),
                   std::move(program));
}

std::vector<std::string> worker_nodes(caf::blocking_actor* self,
                                      const caf::actor& directory,
                                      const stream_options& opts) {
  if (!directory)
    return opts.state_nodes;
  std::vector<std::string> result = opts.state_nodes;
  self->request(directory, opts.state_timeout, caf::get_atom::value)
    .receive([&](std::vector<std::string>& xs) { result = std::move(xs); },
             [](caf::error&) {});
  return result;
}

caf::expected<caf::actor> reach_node(caf::blocking_actor* self,
                                     const caf::actor& directory,
                                     const std::string& address,
                                     const char* role, duration timeout) {
  caf::actor joined;
  if (directory)
    self->request(directory, timeout, caf::get_atom::value, address)
      .receive([&](caf::actor& x) { joined = std::move(x); },
               [](caf::error&) {});
  if (joined)
    return joined;
  return connect_node(self, address, role, timeout);
}

caf::actor spawn_node_joiner(caf::actor_system& sys, std::string driver,
                             caf::actor node, std::string host, uint16_t port,
                             std::string fingerprint, std::string program,
                             duration timeout) {
  return sys.spawn(node_joiner, std::move(driver), std::move(node),
                   std::move(host), port, std::move(fingerprint),
                   std::move(program), timeout);
}

} // namespace caf_stream::actors
