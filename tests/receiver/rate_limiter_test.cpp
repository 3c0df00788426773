#include <catch2/catch.hpp>

#include "caf_stream/receiver/rate_limiter.hpp"

using caf_stream::rate_limiter;
using ms = caf_stream::time;

TEST_CASE("without a rate every record passes at once", "[receiver][rate]") {
  rate_limiter limiter;
  CHECK_FALSE(limiter.rate());
  CHECK(limiter.reserve(1000000, ms{5}) == ms{5});
}

TEST_CASE("the token bucket paces records at the rate", "[receiver][rate]") {
  rate_limiter limiter{10.0};
  // 10 records per second: one every 100 ms.
  CHECK(limiter.reserve(1, ms{0}) == ms{0});
  CHECK(limiter.reserve(1, ms{0}) == ms{100});
  CHECK(limiter.reserve(1, ms{0}) == ms{200});
  // A block of 5 passes at its turn and pushes the next caller back.
  CHECK(limiter.reserve(5, ms{300}) == ms{300});
  CHECK(limiter.reserve(1, ms{300}) == ms{800});
  // After 1.1 s idle time the bucket holds one second's worth (10); one
  // more passes at once and its wait falls on the next caller.
  int passed_at_once = 0;
  while (limiter.reserve(1, ms{2000}) == ms{2000})
    ++passed_at_once;
  CHECK(passed_at_once == 11);
}

TEST_CASE("over a long run no more than rate * time passes",
          "[receiver][rate]") {
  rate_limiter limiter{250.0};
  ms now{0};
  int64_t passed = 0;
  // A receiver that stores as fast as the limiter lets it.
  while (now < ms{10000}) {
    now = std::max(now, limiter.reserve(1, now));
    if (now < ms{10000})
      ++passed;
  }
  CHECK(passed >= 2499);
  CHECK(passed <= 2501);
}

TEST_CASE("rates from a controller are capped at the maximum rate",
          "[receiver][rate]") {
  rate_limiter capped{50.0, 30.0};
  CHECK(capped.rate() == 30.0);
  capped.update_rate(100);
  CHECK(capped.rate() == 50.0);
  capped.update_rate(20);
  CHECK(capped.rate() == 20.0);
  capped.update_rate(0);
  CHECK(capped.rate() == 20.0);
  rate_limiter uncapped{std::nullopt, 30.0};
  uncapped.update_rate(1000);
  CHECK(uncapped.rate() == 1000.0);
}
