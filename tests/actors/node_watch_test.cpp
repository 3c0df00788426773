#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/scheduler/executor_table.hpp"

#include "node_watch.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The worker nodes the executor table lists, as the job executor watches
// their actors (`actors/src/node_watch.hpp`); node actors of the test's
// process stand in for remote ones.

namespace {

caf::behavior idle_node(caf::event_based_actor*) {
  return {
    [](int32_t) {},
  };
}

// The changes since the last call: "+id (cores)" or "-id: reason".
std::vector<std::string> changes(executor_table& table) {
  std::vector<std::string> result;
  for (const auto& x : table.take_changes(caf_stream::time{}))
    result.push_back(x.active ? "+" + x.id + " ("
                                  + std::to_string(x.total_cores) + ")"
                              : "-" + x.id + ": " + x.remove_reason);
  return result;
}

// A node actor that `self` monitors before the watch reaches it: its down
// message comes after the watch's notice (an actor's attachments run
// newest first).
caf::actor monitored_node(caf::scoped_actor& self) {
  auto result = self->spawn(idle_node);
  self->monitor(result);
  return result;
}

// Kills `node` and waits until it is down.
void kill(caf::scoped_actor& self, const caf::actor& node) {
  self->send_exit(node, caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
}

// A watch over the table of a driver with 1 task slot.
struct watched_nodes {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  executor_table table{1};
  node_watch watch{sys, table};
};

} // namespace

TEST_CASE_METHOD(watched_nodes,
                 "a watched node is removed once its actor went down, and a "
                 "dead actor reached again adds nothing",
                 "[actors][executors]") {
  auto a = monitored_node(self);
  watch.reached("a:1", a, 2);
  // Reached again (another stage, a state router): its slots change.
  watch.reached("a:1", a, 3);
  CHECK(changes(table) == std::vector<std::string>{"+driver (1)", "+a:1 (2)"});
  CHECK(table.active().at("a:1").total_cores == 3);
  watch.note_lost();
  CHECK(changes(table).empty());
  CHECK_FALSE(watch.lost("a:1", a));
  kill(self, a);
  CHECK(watch.lost("a:1", a));
  // A router that still names the dead actor does not bring it back.
  watch.reached("a:1", a, 3);
  CHECK(changes(table).empty());
  watch.note_lost();
  CHECK(changes(table)
        == std::vector<std::string>{"-a:1: the node was lost: "
                                    "exit_reason(kill)"});
  watch.note_lost();
  watch.reached("a:1", a, 3);
  CHECK(changes(table).empty());
}

TEST_CASE_METHOD(watched_nodes,
                 "a node reached through a new actor whose old one went down "
                 "is removed and added anew, at once",
                 "[actors][executors]") {
  auto old_node = monitored_node(self);
  watch.reached("a:1", old_node, 2);
  changes(table);
  kill(self, old_node);
  auto new_node = monitored_node(self);
  watch.reached("a:1", new_node, 2);
  CHECK(changes(table)
        == std::vector<std::string>{"-a:1: the node was lost: "
                                    "exit_reason(kill)",
                                    "+a:1 (2)"});
  // The old actor counts as lost, the new one not.
  CHECK(watch.lost("a:1", old_node));
  CHECK_FALSE(watch.lost("a:1", new_node));
  watch.note_lost();
  CHECK(changes(table).empty());
  self->send_exit(new_node, caf::exit_reason::user_shutdown);
}
