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

// An actor system with a frozen node and a node that keeps copies.
struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<std::atomic<int>> asked
    = std::make_shared<std::atomic<int>>(0);
  caf::actor frozen = sys.spawn(frozen_node, asked);
  caf::actor copy = sys.spawn(copy_node);

  ~fixture() {
    caf::anon_send_exit(frozen, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(copy, caf::exit_reason::user_shutdown);
  }
};

} // namespace

TEST_CASE("a frozen node that keeps blocks costs one wait: its blocks come "
          "from their copies, and it is asked last for a while",
          "[actors][receiver][nodes]") {
  fixture f;
  // The frozen node is asked first, gets half of the timeout (a copy is on
  // another node), then the copy answers.
  auto timeout = duration{200};
  CHECK(fetch_kept_block(f.sys, kept(1, f.frozen, f.copy), 1024, timeout)
          .records
        == 42);
  CHECK(*f.asked == 1);
  // The next blocks come from the copy at once: the frozen node is not
  // asked again.
  for (uint64_t id = 2; id <= 5; ++id)
    CHECK(fetch_kept_block(f.sys, kept(id, f.frozen, f.copy), 1024, timeout)
            .id
          == id);
  CHECK(*f.asked == 1);
  // A block whose only node is frozen: the whole timeout, then an error
  // that says so.
  auto alone = kept(6, f.frozen, f.copy);
  alone.replica = nullptr;
  alone.replica_location.clear();
  CHECK_THROWS_WITH(fetch_kept_block(f.sys, alone, 1024, timeout),
                    Catch::Matchers::Contains(
                      "no answer within stream.state-timeout (200 ms)"));
  CHECK(*f.asked == 2);
}

TEST_CASE("a kept block is fetched through the node actor this process "
          "reaches itself, not the one the block names",
          "[actors][receiver][nodes]") {
  fixture f;
  // The block names an actor that never answers (a route through a node
  // that is gone); this process reaches the node at that address itself,
  // here the node that keeps copies.
  auto b = kept(1, f.frozen, f.frozen, "reached-node-of-block-fetch-test:1");
  std::vector<std::string> addresses;
  std::vector<caf::actor> named;
  auto reach = [&](const std::string& address, const caf::actor& x) {
    addresses.push_back(address);
    named.push_back(x);
    return address == b.location ? f.copy : caf::actor{};
  };
  CHECK(fetch_kept_block(f.sys, b, 1024, duration{60000}, reach).records
        == 42);
  CHECK(*f.asked == 0);
  CHECK(addresses == std::vector<std::string>{b.location});
  CHECK(named == std::vector<caf::actor>{f.frozen});
}
