#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "caf_stream/detail/exact_sampling.hpp"

using namespace caf_stream::detail;

TEST_CASE("exact_sample_size rounds up as Spark's", "[detail][sampling]") {
  CHECK(exact_sample_size(37, 0.5) == 19);
  CHECK(exact_sample_size(100, 0.1) == 10);
  CHECK(exact_sample_size(100, 0) == 0);
  CHECK(exact_sample_size(100, 2.0) == 200);
  CHECK(exact_sample_size(0, 0.5) == 0);
}

TEST_CASE("exact_sample_band holds the sth draw", "[detail][sampling]") {
  // s = 0 takes none, s = n all: no draw in the band.
  CHECK(exact_sample_band(10, 0).high == 0);
  CHECK(exact_sample_band(10, 10).low == 1);
  // n = 1,000,000, s = 500,000: six standard deviations (6 * 0.0005) and
  // 1 / n on each side of 0.5.
  auto band = exact_sample_band(1000000, 500000);
  CHECK(band.low == Approx(0.5 - 0.003001));
  CHECK(band.high == Approx(0.5 + 0.003001));
  // Few records: the band is clipped to [0, 1].
  auto wide = exact_sample_band(3, 1);
  CHECK(wide.low == 0);
  CHECK(wide.high == 1);
}

TEST_CASE("exact_sample_threshold takes the sth least rank",
          "[detail][sampling]") {
  sample_band band{0.4, 0.6};
  std::vector<sample_rank> in_band{
    {0.55, 0, 3}, {0.45, 1, 0}, {0.5, 0, 9}, {0.5, 0, 2}};
  // 10 below the band and 12 wanted: the third least of the band, so that
  // the 2 below it are taken.
  auto t = exact_sample_threshold(12, 10, in_band, band);
  REQUIRE(t);
  CHECK(t->draw == 0.5);
  CHECK(t->partition == 0);
  CHECK(t->position == 9);
  // All of the band: everything below its top.
  auto all = exact_sample_threshold(14, 10, in_band, band);
  REQUIRE(all);
  CHECK(all->draw == 0.6);
  // None of the band.
  auto none = exact_sample_threshold(10, 10, in_band, band);
  REQUIRE(none);
  CHECK(none->draw == 0.45);
  CHECK(none->partition == 1);
  // The band missed: too many below it, or too few in and below it.
  CHECK_FALSE(exact_sample_threshold(9, 10, in_band, band));
  CHECK_FALSE(exact_sample_threshold(15, 10, in_band, band));
}

TEST_CASE("split_draws and next_copies hand out exactly s draws",
          "[detail][sampling]") {
  std::mt19937_64 gen{42};
  for (int64_t s : {0, 1, 7, 1000}) {
    std::vector<int64_t> counts{3, 0, 5, 2};
    auto shares = split_draws(s, counts, gen);
    REQUIRE(shares.size() == 4);
    CHECK(shares[1] == 0);
    int64_t total = 0;
    for (size_t i = 0; i < shares.size(); ++i) {
      // Each partition hands its share out to its records.
      auto draws = shares[i];
      auto records = counts[i];
      int64_t copies = 0;
      for (int64_t r = 0; r < counts[i]; ++r)
        copies += next_copies(draws, records, gen);
      CHECK(copies == shares[i]);
      CHECK(draws == 0);
      CHECK(records == 0);
      total += shares[i];
    }
    CHECK(total == s);
  }
  // No records: no draws.
  CHECK(split_draws(5, {0, 0}, gen) == std::vector<int64_t>{0, 0});
}
