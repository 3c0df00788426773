#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/error.hpp"

#include "support/log_capture.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The node directory of a driver and the joiners of worker nodes, through
// their mailboxes: two actor systems of this process, each with its own
// middleman, talk over 127.0.0.1 as a driver and a worker node do.

namespace {

using namespace std::chrono_literals;

constexpr auto fingerprint = "graph-1";
constexpr auto program = "program-1";

// A worker node's actor: answers a ping with its own name.
caf::behavior fake_node(caf::event_based_actor*, std::string name) {
  return {
    [=](caf::get_atom) { return name; },
  };
}

// The configuration of a process whose actors talk to other nodes.
struct node_config : stream_config {
  node_config() {
    load<caf::io::middleman>();
  }
};

struct fixture {
  // Created before the systems, so that it outlives their threads.
  support::log_capture directory_log{"nodes"};
  support::log_capture joiner_log{"node"};
  node_config driver_cfg;
  caf::actor_system driver{driver_cfg};
  node_config worker_cfg;
  caf::actor_system worker{worker_cfg};
  caf::scoped_actor self{driver};
  caf::scoped_actor worker_self{worker};
  caf::actor directory = spawn_node_directory(driver, {"10.1.1.1:7000"},
                                              fingerprint, program);
  uint16_t port = published(publish_node(driver, directory, 0, "127.0.0.1"));

  // The actors of the worker's system, which the systems do not outlive.
  std::vector<caf::actor> spawned;

  ~fixture() {
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  static uint16_t published(caf::expected<uint16_t> x) {
    REQUIRE(x);
    return *x;
  }

  // A joiner for a node that says it listens on `host`:`node_port`.
  caf::actor join(const std::string& host, uint16_t node_port,
                  const std::string& its_program = program) {
    auto node = worker.spawn(fake_node, "node on " + std::to_string(node_port));
    auto joiner = spawn_node_joiner(worker,
                                    "127.0.0.1:" + std::to_string(port), node,
                                    host, node_port, fingerprint, its_program,
                                    duration{2000});
    spawned.push_back(node);
    spawned.push_back(joiner);
    return joiner;
  }

  std::vector<std::string> nodes() {
    std::vector<std::string> result;
    self->request(directory, 10s, caf::get_atom::value)
      .receive([&](std::vector<std::string>& xs) { result = std::move(xs); },
               [](caf::error& e) { FAIL(to_string(e)); });
    return result;
  }

  caf::actor node_actor(const std::string& address) {
    caf::actor result;
    self->request(directory, 10s, caf::get_atom::value, address)
      .receive([&](caf::actor& x) { result = std::move(x); },
               [](caf::error& e) { FAIL(to_string(e)); });
    return result;
  }

  // Asks `joiner` to leave, as a node that stops gracefully does.
  void leave(const caf::actor& joiner) {
    auto left = false;
    worker_self->request(joiner, 10s, caf::leave_atom::value)
      .receive([&] { left = true; }, [](caf::error& e) { FAIL(to_string(e)); });
    CHECK(left);
  }
};

// Waits for a line that contains `text` (a bound for a stuck test, not a
// timing assumption).
bool logged(support::log_capture& log, const std::string& text) {
  return log.wait_for(text, 30s);
}

} // namespace

TEST_CASE_METHOD(fixture, "the node directory lists the named nodes, then "
                          "those that joined, until they leave",
                 "[actors][nodes][directory]") {
  CHECK(nodes() == std::vector<std::string>{"10.1.1.1:7000"});
  CHECK(!node_actor("10.1.1.1:7000"));
  auto joiner = join("127.0.0.1", 4711);
  REQUIRE(logged(directory_log, "the worker node 127.0.0.1:4711 joined"));
  REQUIRE(logged(joiner_log, "as the worker node 127.0.0.1:4711"));
  CHECK(nodes()
        == std::vector<std::string>{"10.1.1.1:7000", "127.0.0.1:4711"});
  // The node's actor came over the joiner's connection.
  auto node = node_actor("127.0.0.1:4711");
  REQUIRE(node);
  CHECK(node.node() == worker.node());
  std::string name;
  self->request(node, 10s, caf::get_atom::value)
    .receive([&](std::string& x) { name = std::move(x); },
             [](caf::error& e) { FAIL(to_string(e)); });
  CHECK(name == "node on 4711");
  leave(joiner);
  // The directory answered the leave before the joiner did.
  CHECK(nodes() == std::vector<std::string>{"10.1.1.1:7000"});
  CHECK(!node_actor("127.0.0.1:4711"));
  CHECK(directory_log.contains("the worker node 127.0.0.1:4711 left"));
}

TEST_CASE_METHOD(fixture, "a node whose joiner is lost leaves the node "
                          "directory",
                 "[actors][nodes][directory]") {
  auto stays = join("127.0.0.1", 4711);
  auto lost = join("127.0.0.1", 4712);
  REQUIRE(logged(directory_log, "the worker node 127.0.0.1:4711 joined"));
  REQUIRE(logged(directory_log, "the worker node 127.0.0.1:4712 joined"));
  caf::anon_send_exit(lost, caf::exit_reason::kill);
  REQUIRE(logged(directory_log, "the worker node 127.0.0.1:4712 was lost"));
  CHECK(nodes()
        == std::vector<std::string>{"10.1.1.1:7000", "127.0.0.1:4711"});
  CHECK(!node_actor("127.0.0.1:4712"));
  CHECK(node_actor("127.0.0.1:4711"));
  leave(stays);
}

TEST_CASE_METHOD(fixture, "a node that listens on every interface joins as "
                          "the host its connection came from",
                 "[actors][nodes][directory]") {
  auto joiner = join("0.0.0.0", 4713);
  REQUIRE(logged(directory_log, "the worker node 127.0.0.1:4713 joined"));
  CHECK(nodes()
        == std::vector<std::string>{"10.1.1.1:7000", "127.0.0.1:4713"});
  leave(joiner);
}

TEST_CASE_METHOD(fixture, "a node of another program may not join the "
                          "directory, and its joiner gives up",
                 "[actors][nodes][directory]") {
  auto joiner = join("127.0.0.1", 4714, "program-2");
  REQUIRE(logged(directory_log, "a worker node on port 4714 may not join"));
  REQUIRE(logged(joiner_log, "refused this node"));
  CHECK(nodes() == std::vector<std::string>{"10.1.1.1:7000"});
  // It joins no more: a leave finds no driver to leave.
  leave(joiner);
  CHECK(!joiner_log.contains("left the driver"));
}

TEST_CASE_METHOD(fixture, "a node's joiner tells a driver that stopped from "
                          "one that was lost",
                 "[actors][nodes][directory]") {
  // A second driver, for a second node.
  auto other = spawn_node_directory(driver, {}, fingerprint, program);
  auto other_port = published(publish_node(driver, other, 0, "127.0.0.1"));
  join("127.0.0.1", 4715);
  auto node = worker.spawn(fake_node, "node on 4716");
  spawned.push_back(node);
  auto other_address = "127.0.0.1:" + std::to_string(other_port);
  spawned.push_back(spawn_node_joiner(worker, other_address, node,
                                      "127.0.0.1", 4716, fingerprint,
                                      program, duration{2000}));
  REQUIRE(logged(joiner_log, "as the worker node 127.0.0.1:4715"));
  REQUIRE(logged(joiner_log, "as the worker node 127.0.0.1:4716"));
  // The first driver's context stops: its directory ends. The second one
  // dies.
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other, caf::exit_reason::kill);
  auto address = "127.0.0.1:" + std::to_string(port);
  CHECK(logged(joiner_log,
               "the driver at " + address + " stopped; joining it again"));
  CHECK(logged(joiner_log, "lost the driver at " + other_address));
  CHECK(!joiner_log.contains("lost the driver at " + address));
}
