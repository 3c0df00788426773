#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

namespace {

// The records of `blocks`, in order, as (stream id, records) pairs.
std::vector<std::pair<int32_t, std::vector<int>>>
contents(const block_list& blocks) {
  std::vector<std::pair<int32_t, std::vector<int>>> result;
  for (auto& b : blocks)
    result.emplace_back(b.stream_id, *detail::block_records<int>(b));
  return result;
}

// A sealed block of stream `id` holding `xs`.
block make(int32_t id, std::vector<int> xs) {
  detail::block_buffer<int> buf{id};
  for (auto x : xs)
    buf.push(x);
  return buf.seal().at(0);
}

using copy_atom = caf::atom_constant<caf::atom("copy")>;

// A block replicator whose copies wait for the test: it tells `test` of
// every request, holds them until `copy_atom`, then answers them, and every
// later one at once, with the blocks as they came.
struct held_copies {
  std::vector<std::pair<caf::response_promise, block_list>> waiting;
  bool copying = false;
};

caf::behavior held_replicator(caf::stateful_actor<held_copies>* self,
                              caf::actor test) {
  return {
    [=](replicate_atom, block_list& xs) -> caf::result<block_list> {
      auto rp = self->make_response_promise();
      if (self->state.copying)
        rp.deliver(std::move(xs));
      else
        self->state.waiting.emplace_back(rp, std::move(xs));
      self->send(test, replicate_atom::value);
      return rp;
    },
    [=](copy_atom) {
      self->state.copying = true;
      for (auto& [rp, xs] : self->state.waiting)
        rp.deliver(std::move(xs));
      self->state.waiting.clear();
    },
  };
}

struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  // The buffer of stream 4's receiver, with a queue of `size` blocks.
  static std::shared_ptr<detail::block_buffer<int>> queued_buffer(size_t size) {
    auto buf = std::make_shared<detail::block_buffer<int>>(4);
    buf->configure(std::make_shared<testing::manual_clock>(), rate_limiter(),
                   size);
    return buf;
  }

  // Asks `dst` and returns its answer; fails the test on an error.
  template <class... Ts>
  block_list ask(const caf::actor& dst, Ts... xs) {
    block_list result;
    self->request(dst, std::chrono::minutes(1), xs...)
      .receive([&](block_list& x) { result = std::move(x); },
               [&](caf::error& e) { FAIL(sys.render(e)); });
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a block generator seals what its receiver stored "
                          "when asked",
                 "[actors][receiver]") {
  auto buf = std::make_shared<detail::block_buffer<int>>(4);
  auto tracker = spawn_receiver_tracker(sys);
  auto gen = spawn_block_generator(sys, buf, tracker, false,
                                   std::chrono::milliseconds(200));
  buf->push(1);
  buf->push(2);
  CHECK(contents(ask(gen, seal_atom::value))
        == decltype(contents({})){{4, {1, 2}}});
  // Sealed records are gone from the buffer.
  CHECK(ask(gen, seal_atom::value).empty());
  self->send_exit(gen, caf::exit_reason::user_shutdown);
  self->send_exit(tracker, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "on the driver, blocks stored whole wait for the "
                          "seal but not in the receiver's queue",
                 "[actors][receiver]") {
  // Were they to count until a batch takes them, a queue of 2 would let a
  // receiver store no more than 2 blocks per batch interval.
  auto buf = queued_buffer(2);
  auto tracker = spawn_receiver_tracker(sys);
  auto gen = spawn_block_generator(sys, buf, tracker, false,
                                   std::chrono::milliseconds(200));
  buf->push_block({1});
  buf->push_block({2});
  buf->push_block({3});
  CHECK(buf->queued() == 0);
  CHECK(contents(ask(gen, seal_atom::value))
        == decltype(contents({})){{4, {1}}, {4, {2}}, {4, {3}}});
  self->send_exit(gen, caf::exit_reason::user_shutdown);
  self->send_exit(tracker, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "on a worker node, a block stored whole goes to "
                          "the tracker before store returns, and before any "
                          "seal",
                 "[actors][receiver]") {
  auto buf = queued_buffer(2);
  auto tracker = spawn_receiver_tracker(sys);
  buf->attach_sink(make_tracker_sink(sys, tracker, std::chrono::seconds(60)));
  for (int i = 0; i < 5; ++i)
    buf->push_block({i, i + 10});
  CHECK(buf->queued() == 0);
  // No generator: the tracker allocates what was sent to it.
  CHECK(contents(ask(tracker, allocate_atom::value, caf_stream::time{1000}))
        == decltype(contents({})){
          {4, {0, 10}}, {4, {1, 11}}, {4, {2, 12}}, {4, {3, 13}}, {4, {4, 14}}});
  self->send_exit(tracker, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "the receiver tracker allocates every block "
                          "received before the batch, once",
                 "[actors][receiver]") {
  auto tracker = spawn_receiver_tracker(sys);
  // Without generators it hands over the blocks sent to it.
  self->send(tracker, blocks_atom::value, block_list{make(0, {1, 2})});
  CHECK(contents(ask(tracker, allocate_atom::value, caf_stream::time{1000}))
        == decltype(contents({})){{0, {1, 2}}});
  // With generators it seals each first: records stored before the batch
  // was cut belong to it, after the blocks that arrived before.
  auto buf0 = std::make_shared<detail::block_buffer<int>>(0);
  auto buf1 = std::make_shared<detail::block_buffer<int>>(1);
  auto ms = std::chrono::milliseconds(200);
  auto gen0 = spawn_block_generator(sys, buf0, tracker, false, ms);
  auto gen1 = spawn_block_generator(sys, buf1, tracker, false, ms);
  self->send(tracker, register_atom::value, gen0);
  self->send(tracker, register_atom::value, gen1);
  self->send(tracker, blocks_atom::value, block_list{make(0, {3})});
  buf0->push(4);
  buf1->push(5);
  buf1->push(6);
  auto allocated = contents(ask(tracker, allocate_atom::value,
                                caf_stream::time{2000}));
  REQUIRE(allocated.size() == 3);
  CHECK(allocated[0] == std::make_pair(int32_t{0}, std::vector<int>{3}));
  // The generators answer in either order.
  std::sort(allocated.begin() + 1, allocated.end());
  CHECK(allocated[1] == std::make_pair(int32_t{0}, std::vector<int>{4}));
  CHECK(allocated[2] == std::make_pair(int32_t{1}, std::vector<int>{5, 6}));
  // Allocated blocks are gone: the next batch gets none of them.
  CHECK(ask(tracker, allocate_atom::value, caf_stream::time{3000}).empty());
  for (auto& x : {gen0, gen1, tracker})
    self->send_exit(x, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a block generator that went down no longer holds "
                          "up the tracker",
                 "[actors][receiver]") {
  auto tracker = spawn_receiver_tracker(sys);
  auto buf = std::make_shared<detail::block_buffer<int>>(0);
  auto gen = spawn_block_generator(sys, buf, tracker, false,
                                   std::chrono::milliseconds(200));
  self->send(tracker, register_atom::value, gen);
  // Its worker node was lost; what it sent before is kept.
  self->send(tracker, blocks_atom::value, block_list{make(0, {7})});
  self->monitor(gen);
  self->send_exit(gen, caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
  CHECK(contents(ask(tracker, allocate_atom::value, caf_stream::time{1000}))
        == decltype(contents({})){{0, {7}}});
  CHECK(ask(tracker, allocate_atom::value, caf_stream::time{2000}).empty());
  self->send_exit(tracker, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "on a worker node that copies its blocks, a sealed "
                          "block counts in the receiver's queue until its "
                          "copy is made",
                 "[actors][receiver]") {
  // Else blocks that wait for a slow copy pile up in memory, with no bound.
  auto buf = queued_buffer(2);
  auto tracker = spawn_receiver_tracker(sys);
  kept_blocks keep;
  keep.node = sys.spawn([]() -> caf::behavior {
    return {[](put_blocks_atom, const caf::actor&, block_list&) {}};
  });
  keep.tracker = tracker;
  keep.location = "node-1";
  keep.copy_to_driver = false;
  keep.replicator = sys.spawn(held_replicator,
                              caf::actor_cast<caf::actor>(self));
  // The generator's timer seals every millisecond: the test waits for each
  // block's copy request, not for the clock.
  auto gen = spawn_block_generator(sys, buf, tracker, true,
                                   std::chrono::milliseconds(1), keep);
  for (int i = 1; i <= 2; ++i) {
    buf->push(i);
    self->receive([](replicate_atom) {});
    CHECK(buf->queued() == static_cast<size_t>(i));
  }
  // The queue is full: the next record waits for a copy.
  std::atomic<bool> pushed{false};
  std::thread receiver{[&] {
    buf->push(3);
    pushed = true;
  }};
  CHECK_FALSE(pushed);
  self->request(keep.replicator, std::chrono::minutes(1), copy_atom::value)
    .receive([] {}, [&](caf::error& e) { FAIL(sys.render(e)); });
  receiver.join();
  CHECK(pushed);
  // The block of 3 went for its copy, which came at once; the answers are
  // in the generator's mailbox before this request.
  self->receive([](replicate_atom) {});
  CHECK(ask(gen, seal_atom::value).empty());
  CHECK(buf->queued() == 0);
  CHECK(contents(ask(tracker, allocate_atom::value, caf_stream::time{1000}))
        == decltype(contents({})){{4, {1}}, {4, {2}}, {4, {3}}});
  for (auto& x : {gen, tracker, keep.node})
    self->send_exit(x, caf::exit_reason::user_shutdown);
}
