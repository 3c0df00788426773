#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/stream_config.hpp"

#include "deadline.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;
using namespace std::chrono_literals;

namespace {

using clock_type = deadline::clock;

const clock_type::time_point start{};

} // namespace

TEST_CASE("a wait's time left counts from its start, and is zero once it "
          "is over",
          "[actors][deadline]") {
  using ms = std::chrono::milliseconds;
  CHECK(deadline::left(start, start + 300ms, ms{1000}) == ms{700});
  CHECK(deadline::left(start, start, ms{1000}) == ms{1000});
  CHECK(deadline::left(start, start + 1s, ms{1000}) == ms{0});
  CHECK(deadline::left(start, start + 5s, ms{1000}) == ms{0});
}

TEST_CASE("a deadline sends a wake-up when its wait moves nearer only, and "
          "ends once a wake-up comes after it",
          "[actors][deadline]") {
  deadline d;
  // The first wait: wake-up 1 comes at 2 s.
  CHECK(d.arm(start, 2s) == std::optional<uint64_t>{1});
  // Later waits that end by then need none: wake-up 1 comes first.
  CHECK(d.arm(start + 100ms, 3s) == std::nullopt);
  CHECK(d.arm(start + 200ms, 1800ms) == std::nullopt);
  // A nearer one does: wake-up 2 at 1 s.
  CHECK(d.arm(start + 300ms, 700ms) == std::optional<uint64_t>{2});
  // Wake-up 2 comes as the wait ends.
  CHECK(d.passed(2, start + 1s));
  // The next wait ends at 5 s; wake-up 1, still coming at 2 s, is no
  // longer in time, so wake-up 3 goes.
  CHECK(d.arm(start + 1s, 4s) == std::optional<uint64_t>{3});
  CHECK_FALSE(d.passed(1, start + 2s));
  // A wait that ends before wake-up 3 gets wake-up 4; wake-up 3, coming
  // after that wait, ends it too.
  CHECK(d.arm(start + 2s, 1s) == std::optional<uint64_t>{4});
  CHECK(d.passed(3, start + 5s));
  // Wake-up 4 came too early for a wait that was moved to 9 s.
  CHECK(d.arm(start + 2500ms, 6500ms) == std::nullopt);
  CHECK_FALSE(d.passed(4, start + 3s));
  CHECK(d.arm(start + 3s, 6s) == std::optional<uint64_t>{5});
  CHECK(d.passed(5, start + 9s));
  // Wake-up 6, due at 10 s, never comes back (the actor's other receive
  // took it): a wait armed after that sends its own.
  CHECK(d.arm(start + 9s, 1s) == std::optional<uint64_t>{6});
  CHECK(d.arm(start + 11s, 500ms) == std::optional<uint64_t>{7});
  CHECK(d.passed(7, start + 11500ms));
}

namespace {

caf::behavior echo(caf::event_based_actor*) {
  return {[](int32_t x) { return x; }};
}

// Seconds from `t0` to now.
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
    .count();
}

} // namespace

TEST_CASE("CAF 0.17 waits for a receive's after anew when an answered "
          "request's timeout comes: a deadline ends the wait in time",
          "[actors][deadline]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto peer = sys.spawn(echo);
  // A request answered at once, whose 1 s timeout comes all the same.
  auto ask = [&] {
    self->request(peer, 1s, int32_t{1})
      .receive([](int32_t) {}, [](caf::error&) { FAIL("no answer"); });
  };
  // The timeout comes 1 s into a wait of 1.5 s with `after`, which then
  // waits 1.5 s again: 2.5 s in all, not 1.5.
  ask();
  auto t0 = std::chrono::steady_clock::now();
  self->receive([](int32_t) {}, caf::after(1500ms) >> [] {});
  CHECK(seconds_since(t0) >= 2.4);
  // With a deadline the wait ends after 1.5 s (the bound leaves room for a
  // loaded machine: the 2.5 s above would fail it).
  ask();
  t0 = std::chrono::steady_clock::now();
  deadline d;
  for (auto done = false; !done;) {
    auto wait = 1500ms - (std::chrono::steady_clock::now() - t0);
    if (auto wake_up = d.arm(clock_type::now(), wait))
      self->delayed_send(self, wait, deadline_atom::value, *wake_up);
    self->receive([](int32_t) {}, [&](deadline_atom, uint64_t wake_up) {
      done = d.passed(wake_up, clock_type::now());
    });
  }
  auto took = seconds_since(t0);
  CHECK(took >= 1.5);
  CHECK(took < 2.4);
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
}
