#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;

// An RDD's id, name and `to_debug_string`, which lays a lineage out as
// Spark's `RDD.toDebugString` does. The expected strings are Spark's layout
// of the same lineage, written out by hand; only the ids come from the RDDs.

namespace {

using count = test::word_graph::count;

const auto split = test::word_graph::words_of;

int64_t plus(int64_t a, int64_t b) {
  return a + b;
}

// "Kind[id]" of `x`.
template <class T>
std::string at(const char* kind, const rdd<T>& x) {
  return std::string{kind} + "[" + std::to_string(x.id()) + "]";
}

} // namespace

TEST_CASE("every RDD has an id of its own and a name that its copies "
          "share",
          "[rdd]") {
  auto lines = parallelize(std::vector<std::string>{"a b", "b"}, 2);
  auto words = lines.flat_map(split);
  auto again = lines.flat_map(split);
  std::set<uint64_t> ids{lines.id(), words.id(), again.id()};
  CHECK(ids.size() == 3);
  CHECK(words.name().empty());
  auto copy = words;
  CHECK(&words.set_name("words") == &words);
  CHECK(copy.name() == "words");
  CHECK(copy.id() == words.id());
  CHECK(again.name().empty());
  // A cached RDD is the RDD it keeps, as Spark's `cache` returns it: the
  // same id and name.
  auto kept = words.cache();
  CHECK(kept.id() == words.id());
  CHECK(kept.name() == "words");
  kept.set_name("kept words");
  CHECK(words.name() == "kept words");
}

TEST_CASE("to_debug_string lays a word count out as Spark's toDebugString",
          "[rdd]") {
  auto lines = parallelize(std::vector<std::string>{"a b", "b"}, 2);
  auto words = lines.flat_map(split);
  auto pairs = words.map([](const std::string& w) { return count{w, 1}; });
  auto counts = pairs.reduce_by_key(plus, 3);
  CHECK(counts.to_debug_string()
        == "(3) " + at("ShuffledRDD", counts) + " []\n"
             + " +-(2) " + at("MapPartitionsRDD", pairs) + " []\n"
             + "    |  " + at("MapPartitionsRDD", words) + " []\n"
             + "    |  " + at("ParallelCollectionRDD", lines) + " []");
  // A shuffle whose parent reads another shuffle: one more step in.
  auto swapped = counts.map([](const count& c) { return count{"n", c.second}; });
  auto totals = swapped.reduce_by_key(plus, 1);
  words.set_name("words");
  CHECK(totals.to_debug_string()
        == "(1) " + at("ShuffledRDD", totals) + " []\n"
             + " +-(3) " + at("MapPartitionsRDD", swapped) + " []\n"
             + "    |  " + at("ShuffledRDD", counts) + " []\n"
             + "    +-(2) " + at("MapPartitionsRDD", pairs) + " []\n"
             + "       |  words " + at("MapPartitionsRDD", words) + " []\n"
             + "       |  " + at("ParallelCollectionRDD", lines) + " []");
}

TEST_CASE("to_debug_string shows a union's parents, a cache's storage and "
          "each of a cogroup's two shuffles",
          "[rdd]") {
  auto a = parallelize(std::vector<int>{1, 2}, 2);
  auto b = parallelize(std::vector<int>{3}, 1);
  auto both = a.union_with(b);
  CHECK(both.to_debug_string()
        == "(3) " + at("UnionRDD", both) + " []\n"
             + " |  " + at("ParallelCollectionRDD", a) + " []\n"
             + " |  " + at("ParallelCollectionRDD", b) + " []");
  auto doubled = a.map([](int x) { return 2 * x; });
  auto kept = doubled.cache();
  CHECK(kept.to_debug_string()
        == "(2) " + at("MapPartitionsRDD", doubled)
             + " [Memory Deserialized 1x Replicated]\n"
             + " |  " + at("ParallelCollectionRDD", a) + " []");
  auto left = parallelize(std::vector<count>{{"a", 1}}, 2);
  auto right = parallelize(std::vector<count>{{"a", 2}}, 1);
  auto grouped = left.cogroup(right, 2);
  CHECK(grouped.to_debug_string()
        == "(2) " + at("CoGroupedRDD", grouped) + " []\n"
             + " +-(2) " + at("ParallelCollectionRDD", left) + " []\n"
             + " +-(1) " + at("ParallelCollectionRDD", right) + " []");
  // Two levels under a front parent: "| " keeps its line going.
  auto mapped_left = left.map([](const count& c) { return c; });
  auto joined = mapped_left.cogroup(right, 2);
  CHECK(joined.to_debug_string()
        == "(2) " + at("CoGroupedRDD", joined) + " []\n"
             + " +-(2) " + at("MapPartitionsRDD", mapped_left) + " []\n"
             + " |  |  " + at("ParallelCollectionRDD", left) + " []\n"
             + " +-(1) " + at("ParallelCollectionRDD", right) + " []");
}

TEST_CASE("to_debug_string shows a queue's RDD, a window over it and a file "
          "stream's batch with Spark's classes",
          "[rdd]") {
  // Spark's queue stream hands out the queued RDD, a window the union of
  // its parent's RDDs, and a file stream the union of one RDD per file.
  test::pipeline<int> p;
  auto queue = std::make_shared<rdd_queue<int>>();
  queue->push(parallelize(std::vector<int>{1, 2, 3}, 2));
  testing::temporary_directory dir;
  auto shown = std::make_shared<std::vector<std::string>>();
  auto show = [shown](const auto& x) {
    shown->push_back(x.to_debug_string());
  };
  auto queued = p.context().queue_stream(queue);
  queued.map([](int x) { return 2 * x; }).foreach_rdd(show);
  queued.window(std::chrono::seconds(2)).foreach_rdd(show);
  p.context().text_file_stream(dir.path()).foreach_rdd(show);
  p.collect(queued);
  p.run(1);
  REQUIRE(shown->size() == 3);
  const std::string queued_line = R"( \|  ParallelCollectionRDD\[\d+\] \[\])";
  CHECK_THAT((*shown)[0],
             Catch::Matches(R"(\(2\) MapPartitionsRDD\[\d+\] \[\]\n)"
                            + queued_line));
  CHECK_THAT((*shown)[1],
             Catch::Matches(R"(\(2\) UnionRDD\[\d+\] \[\]\n)" + queued_line));
  CHECK_THAT((*shown)[2], Catch::Matches(R"(\(0\) UnionRDD\[\d+\] \[\])"));
}
