#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/rdd/shuffle_store.hpp"

using namespace caf_stream;
using detail::shuffle_output;
using detail::shuffle_store;

namespace {

struct opaque {
  int x = 0;
};

using words = std::vector<std::string>;

// Bucket `reduce` of every map partition of `out`, copied.
std::vector<words> fetched(const shuffle_output<std::string>& out,
                           size_t reduce) {
  std::vector<words> result;
  for (const auto& bucket : out.buckets(reduce))
    result.push_back(*bucket);
  return result;
}

} // namespace

TEST_CASE("a shuffle's map tasks leave their buckets in the node's store, "
          "where reduce tasks fetch them by id",
          "[rdd][shuffle]") {
  auto& store = shuffle_store::local();
  auto before = store.num_shuffles();
  {
    shuffle_output<std::string> out;
    out.reset(2);
    auto first = out.id();
    CHECK(first != 0);
    // Map partition 1 may finish first.
    out.put(1, {{"c"}, {"d", "e"}, {}});
    out.put(0, {{"a"}, {}, {"b"}});
    CHECK(store.num_shuffles() == before + 1);
    CHECK(fetched(out, 0) == std::vector<words>{{"a"}, {"c"}});
    CHECK(fetched(out, 1) == std::vector<words>{{}, {"d", "e"}});
    CHECK(fetched(out, 2) == std::vector<words>{{"b"}, {}});
    // A reduce task on another node gets one bucket as bytes.
    words got;
    detail::from_bytes(store.bucket_bytes({first, 1, 1}), got);
    CHECK(got == words{"d", "e"});
    CHECK_THROWS_WITH(store.bucket_bytes({first, 2, 0}),
                      "shuffle " + std::to_string(first)
                        + " has no output of map partition 2 on this node");
    CHECK_THROWS_WITH(store.bucket_bytes({first, 0, 3}),
                      "shuffle " + std::to_string(first)
                        + " has 3 reduce partitions, not 4");
    // The map stage again (it failed): a new shuffle, the old one dropped.
    out.reset(2);
    CHECK(out.id() != first);
    CHECK(store.num_shuffles() == before);
    CHECK_THROWS_AS(store.bucket_bytes({first, 0, 0}), stream_error);
    // A reduce task whose map output is missing fails with the reason.
    out.put(0, {{"x"}, {}, {}});
    CHECK_THROWS_WITH(out.buckets(0),
                      "shuffle " + std::to_string(out.id())
                        + " has no output of map partition 1 on this node");
  }
  // The RDD is gone, and its buckets with it.
  CHECK(store.num_shuffles() == before);
}

TEST_CASE("the store refuses to send buckets of records without "
          "serialization",
          "[rdd][shuffle]") {
  shuffle_output<opaque> out;
  out.reset(1);
  out.put(0, {{opaque{1}}});
  REQUIRE(out.buckets(0).size() == 1);
  CHECK(out.buckets(0)[0]->at(0).x == 1);
  CHECK_THROWS_WITH(shuffle_store::local().bucket_bytes({out.id(), 0, 0}),
                    Catch::Contains("cannot leave this node"));
}

TEST_CASE("a shuffle's RDD drops its buckets from the store with its "
          "lineage",
          "[rdd][shuffle]") {
  auto& store = shuffle_store::local();
  auto before = store.num_shuffles();
  {
    auto counts = parallelize(words{"a", "b", "a", "c", "a"}, 3)
                    .map([](const std::string& w) {
                      return std::pair<std::string, int>{w, 1};
                    })
                    .reduce_by_key([](int x, int y) { return x + y; }, 2);
    auto sorted = counts.sort_by_key();
    CHECK(sorted.collect()
          == std::vector<std::pair<std::string, int>>{
            {"a", 3}, {"b", 1}, {"c", 1}});
    // reduce_by_key's shuffle and sort_by_key's.
    CHECK(store.num_shuffles() == before + 2);
  }
  CHECK(store.num_shuffles() == before);
}

TEST_CASE("a map task's buckets travel as one frame, from which a reduce "
          "task on another node takes its own bucket alone",
          "[rdd][shuffle]") {
  using detail::bucket_spans;
  using detail::frame_buckets;
  std::vector<words> buckets{{"a", "b"}, {}, {"c"}};
  auto frame = shuffle_output<std::string>::encode(buckets);
  auto spans = bucket_spans(frame);
  REQUIRE(spans.size() == 3);
  // After the count and the 3 sizes, the buckets one after the other.
  CHECK(spans[0].first == 4 * sizeof(uint64_t));
  CHECK(spans[1].first == spans[0].first + spans[0].second);
  CHECK(spans[2].first + spans[2].second == frame.size());
  for (size_t i = 0; i < buckets.size(); ++i)
    CHECK(shuffle_output<std::string>::decode_bucket(
            frame.substr(spans[i].first, spans[i].second))
          == buckets[i]);
  // The whole frame, as the driver fetches it.
  shuffle_output<std::string> out;
  out.reset(1);
  out.put_bytes(0, frame);
  CHECK(fetched(out, 0) == std::vector<words>{{"a", "b"}});
  CHECK(fetched(out, 2) == std::vector<words>{{"c"}});
  CHECK(bucket_spans(frame_buckets({})).empty());
  // Frames cut short, too long or with an absurd count are refused.
  CHECK_THROWS_WITH(bucket_spans("abc"),
                    "a map output's frame is malformed: 3 bytes hold no "
                    "count");
  CHECK_THROWS_WITH(bucket_spans(frame.substr(0, frame.size() - 1)),
                    Catch::Contains("ends past the"));
  CHECK_THROWS_WITH(bucket_spans(frame + "x"),
                    "a map output's frame is malformed: 1 bytes follow the "
                    "last bucket");
  std::string absurd(sizeof(uint64_t), '\xff');
  CHECK_THROWS_WITH(bucket_spans(absurd),
                    Catch::Contains("buckets cannot fit in 8 bytes"));
  CHECK_THROWS_AS(out.put_bytes(0, frame.substr(0, 20)), stream_error);
}

TEST_CASE("a shuffle keeps the partitions reduced on other nodes until its "
          "map stage runs again",
          "[rdd][shuffle]") {
  detail::reduced_partitions<std::pair<std::string, int>> parts;
  parts.reset(2);
  CHECK(parts.get(0) == nullptr);
  parts.put_bytes(1, detail::to_bytes(
                       std::vector<std::pair<std::string, int>>{{"a", 2}}));
  REQUIRE(parts.get(1) != nullptr);
  CHECK(*parts.get(1) == std::vector<std::pair<std::string, int>>{{"a", 2}});
  CHECK(parts.get(0) == nullptr);
  CHECK(parts.get(7) == nullptr);
  CHECK_THROWS(parts.put_bytes(0, "not a partition"));
  parts.reset(2);
  CHECK(parts.get(1) == nullptr);
}
