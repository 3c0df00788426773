#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/fetch_plan.hpp"

using namespace caf_stream;

namespace {

using request = fetch_plan::request;

// (source, bucket, offset, size) of each request, for comparing.
using fetch = std::tuple<uint64_t, uint32_t, uint64_t, uint64_t>;

std::vector<fetch> fetches(const std::vector<request>& xs) {
  std::vector<fetch> result;
  for (const auto& x : xs)
    result.emplace_back(x.source, x.bucket, x.offset, x.size);
  return result;
}

// The bytes a node holds for `r` of `plan` out of `buckets`.
std::string answer(const fetch_plan& plan,
                   const std::vector<std::string>& buckets, const request& r) {
  std::string result;
  for (const auto& p : plan.parts(r))
    result += buckets[p.bucket].substr(p.offset, p.size);
  return result;
}

// (bucket, offset, size) of each part, for comparing.
using piece = std::tuple<uint32_t, uint64_t, uint64_t>;

std::vector<piece> pieces(const std::vector<fetch_plan::part>& xs) {
  std::vector<piece> result;
  for (const auto& x : xs)
    result.emplace_back(x.bucket, x.offset, x.size);
  return result;
}

} // namespace

TEST_CASE("buckets come in chunks, with a bound on the bytes in flight",
          "[scheduler][fetch]") {
  // Chunks of 4 bytes, 8 in flight: two chunks at a time.
  fetch_plan plan{4, 8};
  const std::vector<std::string> held{"abcdefghij", "", "xyz"};
  plan.add(7, {10, 0, 3});
  CHECK_FALSE(plan.complete(7));
  auto first = plan.next();
  CHECK(fetches(first) == std::vector<fetch>{{7, 0, 0, 4}, {7, 0, 4, 4}});
  CHECK(pieces(plan.parts(first[1])) == std::vector<piece>{{0, 4, 4}});
  CHECK(plan.in_flight() == 8);
  CHECK(plan.next().empty());
  CHECK_FALSE(plan.received(first[0], answer(plan, held, first[0])));
  // 4 bytes in flight: a chunk fits, the last 2 bytes of bucket 0 and the
  // first 2 of bucket 2 (the empty bucket needs no fetch).
  auto second = plan.next();
  CHECK(fetches(second) == std::vector<fetch>{{7, 0, 8, 4}});
  CHECK(pieces(plan.parts(second[0]))
        == std::vector<piece>{{0, 8, 2}, {2, 0, 2}});
  CHECK(answer(plan, held, second[0]) == "ijxy");
  CHECK_FALSE(plan.received(second[0], "ijxy"));
  CHECK_FALSE(plan.received(first[1], answer(plan, held, first[1])));
  auto third = plan.next();
  CHECK(fetches(third) == std::vector<fetch>{{7, 2, 2, 1}});
  CHECK(plan.received(third[0], "z"));
  CHECK(plan.complete(7));
  CHECK(plan.in_flight() == 0);
  CHECK(plan.take(7) == held);
  CHECK_FALSE(plan.complete(7));
}

TEST_CASE("a chunk larger than the bound still goes alone, and sources "
          "share the bound",
          "[scheduler][fetch]") {
  fetch_plan plan{100, 10};
  plan.add(1, {30});
  plan.add(2, {5});
  auto xs = plan.next();
  CHECK(fetches(xs) == std::vector<fetch>{{1, 0, 0, 30}});
  CHECK(plan.next().empty());
  CHECK(plan.received(xs[0], std::string(30, 'a')));
  auto ys = plan.next();
  CHECK(fetches(ys) == std::vector<fetch>{{2, 0, 0, 5}});
  CHECK(plan.received(ys[0], "bbbbb"));
  CHECK(plan.take(1) == std::vector<std::string>{std::string(30, 'a')});
  CHECK(plan.take(2) == std::vector<std::string>{"bbbbb"});
}

TEST_CASE("a source with no bytes is complete at once, a dropped source "
          "frees its bytes in flight and its late answers are ignored",
          "[scheduler][fetch]") {
  fetch_plan plan{4, 4};
  plan.add(1, {0, 0});
  CHECK(plan.complete(1));
  CHECK(plan.take(1) == std::vector<std::string>{"", ""});
  plan.add(2, {4});
  plan.add(3, {4});
  auto xs = plan.next();
  CHECK(fetches(xs) == std::vector<fetch>{{2, 0, 0, 4}});
  plan.drop(2);
  CHECK(plan.in_flight() == 0);
  CHECK_FALSE(plan.received(xs[0], "lost"));
  auto ys = plan.next();
  CHECK(fetches(ys) == std::vector<fetch>{{3, 0, 0, 4}});
  // An answer of the wrong size is the node's fault.
  CHECK_THROWS_AS(plan.received(ys[0], "abc"), stream_error);
}

TEST_CASE("a chunk carries many small buckets, and a fetch that runs past "
          "the source's last bucket was not asked for",
          "[scheduler][fetch]") {
  fetch_plan plan{10, 100};
  const std::vector<std::string> held{"abc", "", "defg", "hijkl", "mn"};
  plan.add(1, {3, 0, 4, 5, 2});
  auto xs = plan.next();
  // 14 bytes in two chunks rather than five fetches (one per bucket).
  CHECK(fetches(xs) == std::vector<fetch>{{1, 0, 0, 10}, {1, 3, 3, 4}});
  CHECK(pieces(plan.parts(xs[0]))
        == std::vector<piece>{{0, 0, 3}, {2, 0, 4}, {3, 0, 3}});
  CHECK(pieces(plan.parts(xs[1])) == std::vector<piece>{{3, 3, 2}, {4, 0, 2}});
  CHECK(answer(plan, held, xs[0]) == "abcdefghij");
  CHECK(answer(plan, held, xs[1]) == "klmn");
  CHECK(plan.parts(request{1, 4, 1, 5}).empty());
  CHECK_THROWS_AS(plan.received(request{1, 4, 1, 5}, "nnnnn"), stream_error);
  CHECK_FALSE(plan.received(xs[1], "klmn"));
  CHECK(plan.received(xs[0], "abcdefghij"));
  CHECK(plan.take(1) == held);
}
