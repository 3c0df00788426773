#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/scheduler/executor_table.hpp"

#include "node_map_stages.hpp"
#include "node_watch.hpp"
#include "support/program_node.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// How the driver's job executor reaches a worker node by its address
// (`node_map_stages::node_at`, which its block fetches use): the node
// actors of the nodes that joined come from a directory, here a fake one.

namespace {

// A worker node of 2 task slots that does nothing else.
caf::behavior idle_node(caf::event_based_actor*) {
  return {
    [](slots_atom, const std::string&, const std::string&) {
      return size_t{2};
    },
  };
}

// A node directory with one node, whose actor `put` replaces.
caf::behavior one_node_directory(caf::stateful_actor<caf::actor>* self) {
  return {
    [=](caf::put_atom, caf::actor& node) { self->state = std::move(node); },
    [=](caf::get_atom, const std::string&) { return self->state; },
  };
}

// The driver's side: the test's actor, a fake directory whose one node the
// test names, and the executors and their node watch.
struct driver_side {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::actor directory = sys.spawn(one_node_directory);
  executor_table executors{1};
  node_watch watch{sys, executors};

  ~driver_side() {
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  }

  // Makes `node` the directory's one node.
  void put_node(const caf::actor& node) {
    self->request(directory, caf::infinite, caf::put_atom::value, node)
      .receive([] {},
               [](caf::error&) { FAIL("the directory took no node"); });
  }

  // The job executor's way to the nodes, for the graph `graph`.
  node_map_stages stages(const detail::dstream_graph& graph,
                         const stream_options& opts) {
    return node_map_stages{self.ptr(), graph, opts, directory, executors,
                           watch};
  }
};

} // namespace

TEST_CASE_METHOD(driver_side,
                 "a node actor that was lost is not asked for a block that "
                 "the node back on its address keeps: that node is reached "
                 "anew, although the down message still waits in the "
                 "mailbox",
                 "[actors][nodes]") {
  caf::scoped_actor watcher{sys};
  detail::dstream_graph graph{duration{1000}, 2};
  stream_options opts;
  auto first = sys.spawn(idle_node);
  // The watcher monitors the first node before the stages reach it, so its
  // down message comes after the stages' notice that the node was lost
  // (an actor's attachments run newest first).
  watcher->monitor(first);
  put_node(first);
  const std::string address = "node-of-node-map-stages-test:1";
  auto stages = this->stages(graph, opts);
  CHECK(stages.node_at(address, first) == first);
  CHECK(stages.node_at(address, first) == first);
  // The node reached is an executor now, with the task slots it answered.
  CHECK(executors.active().at(address).total_cores == 2);
  // The node is lost and comes back, as another actor, on its address.
  caf::anon_send_exit(first, caf::exit_reason::kill);
  watcher->receive([](const caf::down_msg&) {});
  auto second = sys.spawn(idle_node);
  put_node(second);
  // A block the lost node kept gets the lost actor: the node is not
  // reached (a process that is dying may still take a connection).
  CHECK(stages.node_at(address, first) == first);
  // A block the node back on the address keeps names its new actor.
  CHECK(stages.node_at(address, second) == second);
  CHECK(stages.node_at(address, first) == second);
  // The executors list the lost node dead and the one back on its address
  // anew (as Spark lists a new executor), although no batch's end noted
  // the loss in between.
  std::vector<std::string> changes;
  for (const auto& x : executors.take_changes(caf_stream::time{}))
    changes.push_back((x.active ? "+" : "-") + x.id + " "
                      + x.remove_reason);
  CHECK(changes
        == std::vector<std::string>{
          "+driver ", "+" + address + " ",
          "-" + address + " the node was lost: exit_reason(kill)",
          "+" + address + " "});
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(driver_side,
                 "a worker node of another program refuses the driver's "
                 "first question: it runs no tasks and is no executor",
                 "[actors][nodes]") {
  detail::dstream_graph graph{duration{1000}, 2};
  stream_options opts;
  opts.app_id = "ours";
  // A real worker node, whose program is another one.
  support::program_node theirs{sys, "theirs"};
  auto& other = theirs.actor;
  put_node(other);
  auto stages = this->stages(graph, opts);
  // The node's answer to the driver's first question.
  auto slots = node_slots(self.ptr(), other, graph.fingerprint(),
                          program_id(opts), duration{60000});
  REQUIRE_FALSE(slots);
  CHECK_THAT(message_of(slots.error()),
             Catch::StartsWith("the worker node runs another program: the "
                               "driver is 'app ours', this node 'app "
                               "theirs'"));
  // A block fetch finds no node there, and the executors do not list it.
  CHECK_FALSE(stages.node_at("127.0.0.1:2", other));
  CHECK(executors.active().count("127.0.0.1:2") == 0);
}

TEST_CASE_METHOD(driver_side,
                 "a worker node that stops is still reached for the blocks "
                 "it keeps, although it takes no tasks",
                 "[actors][nodes]") {
  support::program_node ours{sys, "ours"};
  auto& node = ours.actor;
  // A graceful stop, which it answers and after which it stays up until
  // it gets its exit.
  self->request(node, caf::infinite, stop_atom::value)
    .receive([](bool) {}, [](caf::error& e) { FAIL(to_string(e)); });
  auto slots = node_slots(self.ptr(), node, ours.ssc.graph()->fingerprint(),
                          ours.program(), duration{60000});
  REQUIRE_FALSE(slots);
  CHECK(message_of(slots.error()) == "the worker node stops");
  put_node(node);
  auto stages = this->stages(*ours.ssc.graph(), ours.opts);
  CHECK(stages.node_at("127.0.0.1:2", node) == node);
}
