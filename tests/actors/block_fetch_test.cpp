#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/error.hpp"

#include "block_fetch.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// `fetch_kept_block` against two nodes of this process that keep a block:
// a frozen one, which never answers, and one that keeps its copy.

namespace {

// A frozen node: counts the fetches it gets and answers none.
caf::behavior frozen_node(caf::event_based_actor*,
                          std::shared_ptr<std::atomic<int>> asked) {
  return {
    [=](get_block_atom, uint64_t) { ++*asked; },
  };
}

// A node that keeps a copy of every block, of 42 records.
caf::behavior copy_node(caf::event_based_actor* self) {
  return {
    [=](get_block_atom, uint64_t id) {
      block x;
      x.id = id;
      x.records = 42;
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 get_block_atom::value, id, std::move(x));
    },
  };
}

// Block `id`, which `frozen` keeps at `where` and `copy` keeps a copy of.
block kept(uint64_t id, const caf::actor& frozen, const caf::actor& copy,
           const std::string& where = "frozen-node-of-block-fetch-test:1") {
  block b;
  b.id = id;
  b.records = 42;
  b.location = where;
  b.holder = std::make_shared<const block_holder>(block_holder{frozen});
  b.replica_location = "copy-node-of-block-fetch-test:1";
  b.replica = std::make_shared<const block_holder>(block_holder{copy});
  return b;
}

} // namespace

TEST_CASE("a frozen node that keeps blocks costs one wait: its blocks come "
          "from their copies, and it is asked last for a while",
          "[actors][receiver][nodes]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto asked = std::make_shared<std::atomic<int>>(0);
  auto frozen = sys.spawn(frozen_node, asked);
  auto copy = sys.spawn(copy_node);
  // The frozen node is asked first, gets half of the timeout (a copy is on
  // another node), then the copy answers.
  auto timeout = duration{200};
  CHECK(fetch_kept_block(sys, kept(1, frozen, copy), 1024, timeout).records
        == 42);
  CHECK(*asked == 1);
  // The next blocks come from the copy at once: the frozen node is not
  // asked again.
  for (uint64_t id = 2; id <= 5; ++id)
    CHECK(fetch_kept_block(sys, kept(id, frozen, copy), 1024, timeout).id
          == id);
  CHECK(*asked == 1);
  // A block whose only node is frozen: the whole timeout, then an error
  // that says so.
  auto alone = kept(6, frozen, copy);
  alone.replica = nullptr;
  alone.replica_location.clear();
  CHECK_THROWS_WITH(fetch_kept_block(sys, alone, 1024, timeout),
                    Catch::Matchers::Contains(
                      "no answer within stream.state-timeout (200 ms)"));
  CHECK(*asked == 2);
  caf::anon_send_exit(frozen, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(copy, caf::exit_reason::user_shutdown);
}

TEST_CASE("a kept block is fetched through the node actor this process "
          "reaches itself, not the one the block names",
          "[actors][receiver][nodes]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto asked = std::make_shared<std::atomic<int>>(0);
  auto named = sys.spawn(frozen_node, asked);
  auto reached = sys.spawn(copy_node);
  // The block names an actor that never answers (a route through a node
  // that is gone); this process reaches the node at that address itself.
  auto b = kept(1, named, named, "reached-node-of-block-fetch-test:1");
  std::vector<std::string> addresses;
  auto reach = [&](const std::string& address) {
    addresses.push_back(address);
    return address == b.location ? reached : caf::actor{};
  };
  CHECK(fetch_kept_block(sys, b, 1024, duration{60000}, reach).records == 42);
  CHECK(*asked == 0);
  CHECK(addresses == std::vector<std::string>{b.location});
  caf::anon_send_exit(named, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(reached, caf::exit_reason::user_shutdown);
}
