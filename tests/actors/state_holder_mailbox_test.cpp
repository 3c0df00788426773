#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/state_holder.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/dstream/state_operator.hpp"

#include "support/summing_operator.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;
using caf_stream::detail::block_records;
using caf_stream::detail::make_block;

// The state holder and the holder proxy (`actors/src/state_holder.cpp`),
// through their mailboxes: a holder keeps one partition of a state
// stream's state; a proxy stands in on the driver for a holder on a state
// node, here an actor of this process.

namespace {

using namespace std::chrono_literals;
using records = std::vector<int64_t>;

// A holder that takes a call, never answers it, and quits with `reason`
// as the holder of a lost node does.
caf::behavior lost_holder(caf::event_based_actor* self, caf::exit_reason reason) {
  return {
    [=](state_atom, uint8_t, caf_stream::time, const block&) {
      // The promise dies with the holder: no answer comes from here.
      auto promise = self->make_response_promise();
      self->quit(reason);
      return promise;
    },
  };
}

struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  // The keys the partition held after the last call.
  int64_t keys = -1;

  // Sends call `what` for batch `t` with `in` to `holder` (or its proxy):
  // the sum, or the error.
  caf::expected<int64_t> call(const caf::actor& holder, state_call what,
                              int64_t t, records in) {
    caf::expected<int64_t> result{caf::sec::unexpected_response};
    self
      ->request(holder, 2min, state_atom::value, static_cast<uint8_t>(what),
                caf_stream::time{t * 1000}, make_block(0, std::move(in)))
      .receive(
        [&](block& out, int64_t n) {
          keys = n;
          result = out.data ? block_records<int64_t>(out)->at(0) : -1;
        },
        [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  caf::expected<int64_t> update(const caf::actor& holder, int64_t t,
                                records in) {
    return call(holder, state_call::update, t, std::move(in));
  }

  // The reason `x` went down with (waits for it).
  caf::error down_reason(const caf::actor& x) {
    caf::error result;
    self->receive(
      [&](const caf::down_msg& dm) {
        CHECK(dm.source == x.address());
        result = dm.reason;
      },
      caf::after(std::chrono::minutes(1)) >> [] { FAIL("no down message"); });
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a state holder answers its partition's calls, "
                          "and quits when its driver goes down",
                 "[actors][state][holder]") {
  // The partition's rules are `held_partition`'s (its own unit tests).
  auto driver = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
  auto holder = spawn_state_holder(
    sys, std::make_shared<support::summing_operator>(), driver);
  CHECK(update(holder, 1, {1, 2}) == 3);
  CHECK(keys == 1);
  CHECK(update(holder, 1, {1, 2}) == 3);
  CHECK(call(holder, state_call::snapshot, 1, {}) == 3);
  auto failed = update(holder, 2, {-1});
  REQUIRE(!failed);
  CHECK(failed.error() == errc::job_failure);
  CHECK(sys.render(failed.error()).find("negative input") != std::string::npos);
  auto unknown = call(holder, static_cast<state_call>(9), 3, {});
  REQUIRE(!unknown);
  CHECK(unknown.error() == errc::illegal_state);
  // A holder without its driver serves no one.
  self->monitor(holder);
  self->send_exit(driver, caf::exit_reason::user_shutdown);
  CHECK(down_reason(holder) == caf::exit_reason::normal);
}

TEST_CASE_METHOD(fixture, "a holder proxy passes calls on to its holder and "
                          "its answers back",
                 "[actors][state][holder]") {
  auto holder = spawn_state_holder(
    sys, std::make_shared<support::summing_operator>(), caf::actor{});
  auto proxy = spawn_holder_proxy(sys, holder, duration{120000});
  CHECK(update(proxy, 1, {1, 2}) == 3);
  CHECK(update(proxy, 2, {4}) == 7);
  auto failed = update(proxy, 3, {-1});
  REQUIRE(!failed);
  CHECK(failed.error() == errc::job_failure);
  CHECK(sys.render(failed.error()).find("negative input") != std::string::npos);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a holder proxy fails the calls in flight once its "
                          "holder goes down, and quits with its reason",
                 "[actors][state][holder]") {
  auto holder = sys.spawn(lost_holder, caf::exit_reason::remote_link_unreachable);
  // The call's bound is far off: the answer comes from the holder's loss.
  auto proxy = spawn_holder_proxy(sys, holder, duration{120000});
  self->monitor(proxy);
  auto answer = update(proxy, 1, {1});
  REQUIRE(!answer);
  CHECK(answer.error() == caf::sec::request_receiver_down);
  CHECK(sys.render(answer.error()).find("the state node's holder went down")
        != std::string::npos);
  CHECK(down_reason(proxy) == caf::exit_reason::remote_link_unreachable);
}

TEST_CASE_METHOD(fixture, "when a holder proxy quits, so does its holder",
                 "[actors][state][holder]") {
  auto holder = spawn_state_holder(
    sys, std::make_shared<support::summing_operator>(), caf::actor{});
  auto proxy = spawn_holder_proxy(sys, holder, duration{120000});
  REQUIRE(update(proxy, 1, {5}) == 5);
  self->monitor(holder);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  CHECK(down_reason(holder) == caf::exit_reason::user_shutdown);
}
