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

// The holder proxy (`actors/src/state_holder.cpp`), which stands in on the
// driver for a holder on a state node, through its mailbox: the holder
// behind it is an actor of this process.

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

  // Sends an update for batch `t` with `in` to `proxy`: the sum, or the
  // error.
  caf::expected<int64_t> update(const caf::actor& proxy, int64_t t,
                                records in) {
    caf::expected<int64_t> result{caf::sec::unexpected_response};
    self
      ->request(proxy, 2min, state_atom::value,
                static_cast<uint8_t>(state_call::update),
                caf_stream::time{t * 1000}, make_block(0, std::move(in)))
      .receive(
        [&](block& out, int64_t) { result = block_records<int64_t>(out)->at(0); },
        [&](caf::error& e) { result = std::move(e); });
    return result;
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

TEST_CASE_METHOD(fixture, "a holder proxy passes calls on to its holder and "
                          "its answers back",
                 "[actors][state][proxy]") {
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
                 "[actors][state][proxy]") {
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
                 "[actors][state][proxy]") {
  auto holder = spawn_state_holder(
    sys, std::make_shared<support::summing_operator>(), caf::actor{});
  auto proxy = spawn_holder_proxy(sys, holder, duration{120000});
  REQUIRE(update(proxy, 1, {5}) == 5);
  self->monitor(holder);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  CHECK(down_reason(holder) == caf::exit_reason::user_shutdown);
}
