#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/receiver/block.hpp"

#include "block_replicator.hpp"
#include "support/log_capture.hpp"
#include "support/program_node.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The block replicator of a receiver on a worker node, through its mailbox:
// its peers are actors of this process that play worker nodes. This node's
// address sorts after theirs, so it asks each to connect back, and they
// say they did.

namespace {

// What a peer got: the copies, and the tracker named with them.
struct copies {
  std::mutex mtx;
  std::vector<block> blocks;
  caf::actor tracker;
  int asked = 0;

  std::vector<block> taken() {
    std::lock_guard<std::mutex> guard{mtx};
    return blocks;
  }

  int times_asked() {
    std::lock_guard<std::mutex> guard{mtx};
    return asked;
  }
};

// A worker node that keeps copies (`answers`), or takes them and never
// answers, as a frozen one.
caf::behavior peer_node(caf::event_based_actor* self,
                        std::shared_ptr<copies> seen, bool answers) {
  return {
    [](connect_back_atom, const std::string&) {
      return connect_back_atom::value;
    },
    [=](copy_blocks_atom, const std::string&, const std::string&,
        const caf::actor& tracker, block_list& xs) {
      {
        std::lock_guard<std::mutex> guard{seen->mtx};
        ++seen->asked;
        if (!answers)
          return;
        seen->tracker = tracker;
        seen->blocks.insert(seen->blocks.end(), xs.begin(), xs.end());
      }
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 copy_blocks_atom::value, xs.back().id);
    },
  };
}

caf::behavior idle(caf::event_based_actor*) {
  return {
    [](int) {},
  };
}

// Blocks 1 and 2 of stream 7, with the records {1, 2, 3} and {4}.
block_list two_blocks() {
  auto first = detail::make_block<int64_t>(7, std::vector<int64_t>{1, 2, 3});
  first.id = 1;
  auto second = detail::make_block<int64_t>(7, std::vector<int64_t>{4});
  second.id = 2;
  return {first, second};
}

std::vector<int64_t> records_of(const block& b) {
  return *detail::block_records<int64_t>(b);
}

// Where the answer `xs` says each block's copy went.
std::vector<std::string> replicas(const block_list& xs) {
  std::vector<std::string> result;
  for (const auto& x : xs)
    result.push_back(x.replica_location);
  return result;
}

struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::actor tracker = sys.spawn(idle);
  std::vector<caf::actor> spawned;

  ~fixture() {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tracker, caf::exit_reason::user_shutdown);
  }

  // A peer at `address` that keeps copies or, unless `answers`, never
  // answers them.
  block_peer peer(const std::string& address, std::shared_ptr<copies> seen,
                  bool answers = true) {
    auto node = sys.spawn(peer_node, std::move(seen), answers);
    spawned.push_back(node);
    return block_peer{address, node};
  }

  // The replicator of this node, `zz-node:1`, with `peers`, which waits
  // `timeout` for a copy's answer.
  caf::actor replicator(std::vector<block_peer> peers,
                        duration timeout = duration{60000}) {
    auto x = spawn_block_replicator(sys, 7, "zz-node:1", std::move(peers),
                                    tracker, timeout, "graph", "app ours");
    spawned.push_back(x);
    return x;
  }

  block_list replicate(const caf::actor& replicator, block_list xs) {
    block_list result;
    self->request(replicator, caf::infinite, replicate_atom::value,
                  std::move(xs))
      .receive([&](block_list& ys) { result = std::move(ys); },
               [&](caf::error& e) {
                 FAIL("the replicator failed: " << sys.render(e));
               });
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "the first worker node that takes a receiver's blocks keeps "
                 "their copies, and the answer names it and holds no records",
                 "[actors][receiver][nodes]") {
  auto a = std::make_shared<copies>();
  auto b = std::make_shared<copies>();
  auto r = replicator({peer("node-a:1", a), peer("node-b:1", b)});
  auto xs = replicate(r, two_blocks());
  REQUIRE(xs.size() == 2);
  for (const auto& x : xs) {
    CHECK(x.replica_location == "node-a:1");
    REQUIRE(x.replica != nullptr);
    CHECK(x.replica->node == spawned[0]);
    CHECK(x.data == nullptr);
    CHECK(x.bytes.empty());
  }
  // Node a got the records as bytes, and the tracker that learns of them.
  auto got = a->taken();
  REQUIRE(got.size() == 2);
  CHECK(got[0].id == 1);
  CHECK(records_of(got[0]) == std::vector<int64_t>{1, 2, 3});
  CHECK(records_of(got[1]) == std::vector<int64_t>{4});
  CHECK(a->tracker == tracker);
  CHECK(b->times_asked() == 0);
}

TEST_CASE_METHOD(fixture,
                 "a worker node that is lost gets no more copies: the next "
                 "one takes them",
                 "[actors][receiver][nodes]") {
  auto a = std::make_shared<copies>();
  auto b = std::make_shared<copies>();
  auto r = replicator({peer("node-a:1", a), peer("node-b:1", b)});
  replicate(r, two_blocks());
  caf::scoped_actor watcher{sys};
  watcher->monitor(spawned[0]);
  caf::anon_send_exit(spawned[0], caf::exit_reason::kill);
  watcher->receive([](const caf::down_msg&) {});
  CHECK(replicas(replicate(r, two_blocks()))
        == std::vector<std::string>(2, "node-b:1"));
  CHECK(a->times_asked() == 1);
  CHECK(b->taken().size() == 2);
}

TEST_CASE_METHOD(fixture,
                 "a worker node that does not answer a copy in time gets none "
                 "for a while: one wait, then the next node takes them",
                 "[actors][receiver][nodes]") {
  auto frozen = std::make_shared<copies>();
  auto b = std::make_shared<copies>();
  auto r = replicator({peer("node-a:1", frozen, false), peer("node-b:1", b)},
                      duration{100});
  for (int i = 0; i < 3; ++i)
    CHECK(replicas(replicate(r, two_blocks()))
          == std::vector<std::string>(2, "node-b:1"));
  // Asked once, then left out (for 5 s at first).
  CHECK(frozen->times_asked() == 1);
  CHECK(b->taken().size() == 6);
}

TEST_CASE_METHOD(fixture,
                 "when no worker node takes the copies, the answer keeps the "
                 "records for the driver's tracker",
                 "[actors][receiver][nodes]") {
  auto frozen = std::make_shared<copies>();
  auto r = replicator({peer("node-a:1", frozen, false)}, duration{100});
  auto xs = replicate(r, two_blocks());
  REQUIRE(xs.size() == 2);
  for (const auto& x : xs) {
    CHECK(x.replica == nullptr);
    CHECK(x.replica_location.empty());
  }
  CHECK(records_of(xs[0]) == std::vector<int64_t>{1, 2, 3});
  CHECK(records_of(xs[1]) == std::vector<int64_t>{4});
}

TEST_CASE("a worker node of another program refuses a receiver's copies "
          "at once: the next node takes them",
          "[actors][receiver][nodes]") {
  support::log_capture log{"receiver"};
  stream_config cfg;
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  // A real worker node, whose program is another one.
  support::program_node theirs{sys, "theirs"};
  auto& other = theirs.actor;
  auto b = std::make_shared<copies>();
  auto node_b = sys.spawn(peer_node, b, true);
  auto tracker = sys.spawn(idle);
  // This node's address sorts first: it connects to its peers, finds
  // nothing on their ports and sends through the handles it has. The wait
  // for an answer is longer than any test: the refusal ends it.
  auto r = spawn_block_replicator(
    sys, 7, "127.0.0.1:1", {{"127.0.0.1:2", other}, {"127.0.0.1:3", node_b}},
    tracker, duration{std::chrono::hours(1)}, "graph", "app ours");
  block_list xs;
  self->request(r, caf::infinite, replicate_atom::value, two_blocks())
    .receive([&](block_list& ys) { xs = std::move(ys); },
             [&](caf::error& e) { FAIL(sys.render(e)); });
  CHECK(replicas(xs) == std::vector<std::string>(2, "127.0.0.1:3"));
  CHECK(b->taken().size() == 2);
  CHECK(log.contains("the worker node 127.0.0.1:2 did not take a copy of 2 "
                     "blocks (it gets none for 5 s): the worker node runs "
                     "another program"));
  for (const auto& x : {node_b, tracker, r})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
}
