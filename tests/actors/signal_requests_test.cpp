#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>

#include "signal_requests.hpp"

using caf_stream::actors::signal_requests;
using request = signal_requests::request;
using namespace std::chrono_literals;

// What each SIGINT or SIGTERM asks the shutdown hook for: GNU `timeout`
// sends its signal twice at once (to the program, then to its process
// group), which is one request to stop.

TEST_CASE("the same signal from the same sender within a second is one "
          "request, anything else after the first ends the program",
          "[actors][shutdown_hook]") {
  signal_requests::time_point t0{std::chrono::hours(5)};
  SECTION("timeout's two signals, then a third from it later") {
    signal_requests x;
    CHECK(x.take(SIGTERM, 4242, t0) == request::stop);
    CHECK(x.take(SIGTERM, 4242, t0 + 1ms) == request::repeat);
    CHECK(x.take(SIGTERM, 4242, t0 + 999ms) == request::repeat);
    CHECK(x.take(SIGTERM, 4242, t0 + 1s) == request::end_now);
  }
  SECTION("another sender") {
    signal_requests x;
    CHECK(x.take(SIGTERM, 4242, t0) == request::stop);
    CHECK(x.take(SIGTERM, 4243, t0 + 1ms) == request::end_now);
  }
  SECTION("another signal") {
    signal_requests x;
    CHECK(x.take(SIGTERM, 4242, t0) == request::stop);
    CHECK(x.take(SIGINT, 4242, t0 + 1ms) == request::end_now);
  }
  SECTION("Ctrl-C twice on a terminal: the kernel sends both") {
    signal_requests x;
    CHECK(x.take(SIGINT, 0, t0) == request::stop);
    CHECK(x.take(SIGINT, 0, t0 + 1ms) == request::end_now);
  }
}
