#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actor_stream.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/logged_records.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

namespace {

// A bound on waiting for a message that is due now, not a pause.
constexpr auto due = std::chrono::seconds(60);

std::vector<int> sorted(std::vector<int> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

// What the actor stream `handle` answered to a request of `self` to store
// `x`: the number of records stored.
template <class T>
uint64_t stored_by(caf::scoped_actor& self, const caf::actor& handle, T x) {
  uint64_t result = 0;
  self->request(handle, due, std::move(x))
    .receive([&](uint64_t n) { result = n; },
             [&](caf::error& e) { FAIL(self->system().render(e)); });
  return result;
}

} // namespace

TEST_CASE("actor_stream stores what actors send and answers requests once "
          "the records are stored",
          "[actors][actor_stream]") {
  test::pipeline<int> p;
  auto [numbers, handle] = p.context().actor_stream<int>("numbers");
  p.collect(numbers);
  caf::scoped_actor self{p.context().system()};
  // Sent before the start: stored once the stream runs.
  caf::anon_send(handle, 7);
  p.context().start();
  auto stored = [&](auto x) {
    return stored_by(self, handle, std::move(x));
  };
  CHECK(stored(1) == 1);
  CHECK(stored(std::vector<int>{2, 3, 4}) == 3);
  p.next_batch();
  CHECK(stored(5) == 1);
  p.next_batch();
  p.next_batch();
  auto out = p.outputs();
  REQUIRE(out.size() == 3);
  CHECK(sorted(out[0]) == std::vector<int>{1, 2, 3, 4, 7});
  CHECK(out[1] == std::vector<int>{5});
  CHECK(out[2].empty());
  // A message that holds no record is answered with an error.
  self->request(handle, due, std::string{"seven"})
    .receive([](uint64_t) { FAIL("a string was stored"); },
             [](caf::error& e) { CHECK(e.category() == errc_category); });
  // Once the context stopped, a request gets an error, not a silent loss.
  p.context().stop();
  self->request(handle, due, 6)
    .receive([](uint64_t) { FAIL("stored after stop"); },
             [](caf::error& e) { CHECK(e); });
}

TEST_CASE("with the write-ahead log on, actor_stream answers a request "
          "once its records are logged",
          "[actors][actor_stream][wal]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  test::pipeline<int> p{opts};
  p.context().checkpoint(dir.path());
  auto [numbers, handle] = p.context().actor_stream<int>("numbers");
  p.collect(numbers);
  p.context().start();
  caf::scoped_actor self{p.context().system()};
  auto stored = [&](auto x) {
    return stored_by(self, handle, std::move(x));
  };
  REQUIRE(stored(1) == 1);
  REQUIRE(stored(std::vector<int>{2, 3}) == 2);
  REQUIRE(stored(4) == 1);
  // The clock stands still, so no block interval ended: each answered
  // request is a block of its own, in the log before the answer.
  CHECK(support::logged_blocks<int>(dir.path(), 0)
        == std::vector<std::vector<int>>{{1}, {2, 3}, {4}});
  p.next_batch();
  p.context().stop();
  CHECK(sorted(p.elements()) == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("actor_stream answers an error to a request it could not store, "
          "and stores the records once when they are sent again",
          "[actors][actor_stream][wal]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  test::pipeline<int> p{opts};
  p.context().checkpoint(dir.path());
  auto [numbers, handle] = p.context().actor_stream<int>("numbers");
  p.collect(numbers);
  p.context().start();
  support::log_blocker blocker{dir.path(), 0};
  caf::scoped_actor self{p.context().system()};
  // A plain send that fails is logged; the actor goes on.
  caf::anon_send(handle, std::vector<int>{9});
  self->request(handle, due, std::vector<int>{1, 2})
    .receive([](uint64_t) { FAIL("stored without its log"); },
             [&](caf::error& e) {
               CHECK_THAT(self->system().render(e),
                          Catch::Contains("write-ahead log: cannot create"));
             });
  blocker.lift();
  CHECK(stored_by(self, handle, std::vector<int>{1, 2}) == 2);
  p.next_batch();
  p.context().stop();
  CHECK(sorted(p.elements()) == std::vector<int>{1, 2});
}

TEST_CASE("send_to gives an actor each batch's records in batch order",
          "[actors][actor_stream]") {
  test::pipeline<int> p;
  auto queue = std::make_shared<rdd_queue<int>>();
  auto numbers = p.context().queue_stream(queue);
  caf::scoped_actor self{p.context().system()};
  numbers.send_to(caf::actor{self});
  numbers.send_to(caf::actor{self},
                  [](int x) { return std::to_string(x * 10); });
  p.collect(numbers);
  p.context().start();
  queue->push(p.context().parallelize(std::vector<int>{1, 2}, 2));
  p.next_batch();
  queue->push(p.context().parallelize(std::vector<int>{3}, 1));
  p.next_batch();
  p.next_batch();
  std::vector<std::pair<int64_t, std::vector<int>>> ints;
  std::vector<std::pair<int64_t, std::vector<std::string>>> texts;
  for (int i = 0; i < 6; ++i)
    self->receive(
      [&](caf_stream::time t, std::vector<int>& xs) {
        ints.emplace_back(t.milliseconds(), xs);
      },
      [&](caf_stream::time t, std::vector<std::string>& xs) {
        texts.emplace_back(t.milliseconds(), xs);
      },
      caf::after(due) >> [] { FAIL("a batch was not sent"); });
  p.context().stop();
  using ints_t = std::vector<std::pair<int64_t, std::vector<int>>>;
  using texts_t = std::vector<std::pair<int64_t, std::vector<std::string>>>;
  CHECK(ints == ints_t{{1000, {1, 2}}, {2000, {3}}, {3000, {}}});
  CHECK(texts == texts_t{{1000, {"10", "20"}}, {2000, {"30"}}, {3000, {}}});
}

TEST_CASE("send_to fails the batches after its actor is gone",
          "[actors][actor_stream]") {
  test::pipeline<int> p;
  auto queue = std::make_shared<rdd_queue<int>>();
  auto numbers = p.context().queue_stream(queue);
  auto& sys = p.context().system();
  auto dashboard = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](caf_stream::time, std::vector<int>&) {}};
  });
  // Monitored before `send_to` watches it: CAF 0.17 runs what is attached
  // to an actor newest first, so `send_to` knows it is gone by the time
  // the down message comes.
  caf::scoped_actor self{sys};
  self->monitor(dashboard);
  numbers.send_to(dashboard);
  CHECK_THROWS_WITH(numbers.send_to(caf::actor{}),
                    "send_to: the actor is null");
  p.context().start();
  p.next_batch();
  caf::anon_send_exit(dashboard, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  p.next_batch();
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 2);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason,
             Catch::Contains("send_to: the actor that receives the batches "
                             "is gone (exit_reason(kill))"));
}
