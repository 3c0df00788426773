#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/tables.hpp"

using namespace caf_stream;
using std::chrono::seconds;
using support::parallelism;
using support::sorted;
using testing::run_operation;

// Spark's WindowOperationsSuite: one-second batches, literal tables, each run
// with several partition counts.

namespace {

using ints = std::vector<std::vector<int>>;
using kv = std::pair<std::string, int>;
using kvs = std::vector<std::vector<kv>>;

const kvs larger_slide_input{{{"a", 1}}, {{"a", 2}}, {{"a", 3}}, {{"a", 4}},
                             {{"a", 5}}, {{"a", 6}}, {},         {}};

const kvs larger_slide_reduce_output{
  {{"a", 3}}, {{"a", 10}}, {{"a", 18}}, {{"a", 11}}};

const kvs big_input{{{"a", 1}},
                    {{"a", 1}, {"b", 1}},
                    {{"a", 1}, {"b", 1}, {"c", 1}},
                    {{"a", 1}, {"b", 1}},
                    {{"a", 1}},
                    {},
                    {{"a", 1}},
                    {{"a", 1}, {"b", 1}},
                    {{"a", 1}, {"b", 1}, {"c", 1}},
                    {{"a", 1}, {"b", 1}},
                    {{"a", 1}},
                    {}};

const kvs big_reduce_output{{{"a", 1}},
                            {{"a", 2}, {"b", 1}},
                            {{"a", 2}, {"b", 2}, {"c", 1}},
                            {{"a", 2}, {"b", 2}, {"c", 1}},
                            {{"a", 2}, {"b", 1}},
                            {{"a", 1}},
                            {{"a", 1}},
                            {{"a", 2}, {"b", 1}},
                            {{"a", 2}, {"b", 2}, {"c", 1}},
                            {{"a", 2}, {"b", 2}, {"c", 1}},
                            {{"a", 2}, {"b", 1}},
                            {{"a", 1}}};

// Without a filter, keys stay in the incremental window with a value of 0.
const kvs big_reduce_inv_output{{{"a", 1}},
                                {{"a", 2}, {"b", 1}},
                                {{"a", 2}, {"b", 2}, {"c", 1}},
                                {{"a", 2}, {"b", 2}, {"c", 1}},
                                {{"a", 2}, {"b", 1}, {"c", 0}},
                                {{"a", 1}, {"b", 0}, {"c", 0}},
                                {{"a", 1}, {"b", 0}, {"c", 0}},
                                {{"a", 2}, {"b", 1}, {"c", 0}},
                                {{"a", 2}, {"b", 2}, {"c", 1}},
                                {{"a", 2}, {"b", 2}, {"c", 1}},
                                {{"a", 2}, {"b", 1}, {"c", 0}},
                                {{"a", 1}, {"b", 0}, {"c", 0}}};

int plus(int a, int b) {
  return a + b;
}

int minus(int a, int b) {
  return a - b;
}

kvs reduce_window(const kvs& input, size_t num_outputs, duration window,
                  duration slide, size_t partitions) {
  return sorted(run_operation(
    input,
    [=](dstream<kv> s) { return s.reduce_by_key_and_window(plus, window, slide); },
    num_outputs, seconds(1), parallelism(2, partitions)));
}

kvs reduce_window_inv(const kvs& input, size_t num_outputs, duration window,
                      duration slide, size_t partitions, bool filtered = false) {
  std::function<bool(const kv&)> filter;
  if (filtered)
    filter = [](const kv& x) { return x.second != 0; };
  return sorted(run_operation(
    input,
    [=](dstream<kv> s) {
      return s.reduce_by_key_and_window(plus, minus, window, slide, 0, filter);
    },
    num_outputs, seconds(1), parallelism(2, partitions)));
}

} // namespace

TEST_CASE("window", "[dstream][window]") {
  auto parts = GENERATE(1, 2, 3);
  ints input{{0}, {1}, {2}, {3}, {4}, {5}};
  auto window = [&](duration w, duration s, size_t n) {
    return sorted(run_operation(
      input, [=](dstream<int> x) { return x.window(w, s); }, n, seconds(1),
      parallelism(2, parts)));
  };
  SECTION("basic window") {
    CHECK(window(seconds(2), seconds(1), 6)
          == ints{{0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}});
  }
  SECTION("tumbling window") {
    CHECK(window(seconds(2), seconds(2), 3) == ints{{0, 1}, {2, 3}, {4, 5}});
  }
  SECTION("larger window") {
    CHECK(window(seconds(4), seconds(2), 4)
          == ints{{0, 1}, {0, 1, 2, 3}, {2, 3, 4, 5}, {4, 5}});
  }
  SECTION("non-overlapping window") {
    CHECK(window(seconds(2), seconds(3), 2) == ints{{1, 2}, {4, 5}});
  }
  SECTION("the slide defaults to the parent's") {
    auto out = sorted(run_operation(
      input, [](dstream<int> x) { return x.window(seconds(3)); }, 3,
      seconds(1), parallelism(2, parts)));
    CHECK(out == ints{{0}, {0, 1}, {0, 1, 2}});
  }
}

TEST_CASE("reduce_by_key_and_window", "[dstream][window]") {
  auto parts = GENERATE(1, 2, 3);
  auto w = seconds(2);
  auto s = seconds(1);
  SECTION("basic reduction") {
    CHECK(reduce_window({{{"a", 1}, {"a", 3}}}, 1, w, s, parts)
          == kvs{{{"a", 4}}});
  }
  SECTION("key already in window and new value added into window") {
    CHECK(reduce_window({{{"a", 1}}, {{"a", 1}}}, 2, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}}});
  }
  SECTION("new key added into window") {
    CHECK(reduce_window({{{"a", 1}}, {{"a", 1}, {"b", 1}}}, 2, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}, {"b", 1}}});
  }
  SECTION("key removed from window") {
    CHECK(reduce_window({{{"a", 1}}, {{"a", 1}}, {}, {}}, 4, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}}, {{"a", 1}}, {}});
  }
  SECTION("larger slide time") {
    CHECK(reduce_window(larger_slide_input, 4, seconds(4), seconds(2), parts)
          == larger_slide_reduce_output);
  }
  SECTION("big test") {
    CHECK(reduce_window(big_input, 12, w, s, parts) == big_reduce_output);
  }
}

TEST_CASE("reduce_by_key_and_window with inverse function",
          "[dstream][window]") {
  auto parts = GENERATE(1, 2, 3);
  auto w = seconds(2);
  auto s = seconds(1);
  SECTION("basic reduction") {
    CHECK(reduce_window_inv({{{"a", 1}, {"a", 3}}}, 1, w, s, parts)
          == kvs{{{"a", 4}}});
  }
  SECTION("key already in window and new value added into window") {
    CHECK(reduce_window_inv({{{"a", 1}}, {{"a", 1}}}, 2, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}}});
  }
  SECTION("new key added into window") {
    CHECK(reduce_window_inv({{{"a", 1}}, {{"a", 1}, {"b", 1}}}, 2, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}, {"b", 1}}});
  }
  SECTION("key removed from window") {
    CHECK(reduce_window_inv({{{"a", 1}}, {{"a", 1}}, {}, {}}, 4, w, s, parts)
          == kvs{{{"a", 1}}, {{"a", 2}}, {{"a", 1}}, {{"a", 0}}});
  }
  SECTION("larger slide time") {
    CHECK(reduce_window_inv(larger_slide_input, 4, seconds(4), seconds(2),
                            parts)
          == larger_slide_reduce_output);
  }
  SECTION("big test") {
    CHECK(reduce_window_inv(big_input, 12, w, s, parts)
          == big_reduce_inv_output);
  }
  SECTION("big test with a filter function") {
    CHECK(reduce_window_inv(big_input, 12, w, s, parts, true)
          == big_reduce_output);
  }
}

TEST_CASE("incremental windows with a slide longer than the window equal "
          "the plain ones", "[dstream][window]") {
  auto parts = GENERATE(1, 2, 3);
  // A 1 s window every 2 s holds only the batch at the slide: batches 1
  // and 3 are in no window (Spark's own ReducedWindowedDStream differs; the
  // incremental form equals the plain one, as documented).
  const kvs input{{{"a", 1}}, {{"b", 8}}, {{"c", 3}}, {{"d", 4}}, {}, {}};
  const kvs expected{{{"b", 8}}, {{"d", 4}}, {}};
  CHECK(reduce_window(input, 3, seconds(1), seconds(2), parts) == expected);
  CHECK(reduce_window_inv(input, 3, seconds(1), seconds(2), parts, true)
        == expected);
  // Without a filter, keys whose window value went back to 0 stay.
  CHECK(reduce_window_inv(input, 3, seconds(1), seconds(2), parts)
        == kvs{{{"b", 8}}, {{"b", 0}, {"d", 4}}, {{"b", 0}, {"d", 0}}});
  using sc = std::pair<std::string, int64_t>;
  auto by_value = sorted(run_operation(
    std::vector<std::vector<std::string>>{{"a"}, {"b", "b"}, {"a"}, {}},
    [](dstream<std::string> s) {
      return s.count_by_value_and_window(seconds(1), seconds(2));
    },
    2, seconds(1), parallelism(2, parts)));
  CHECK(by_value == std::vector<std::vector<sc>>{{{"b", 2}}, {}});
}

TEST_CASE("group_by_key_and_window", "[dstream][window]") {
  auto parts = GENERATE(1, 2, 3);
  using group = std::pair<std::string, std::vector<int>>;
  auto out = run_operation(
    big_input,
    [](dstream<kv> s) {
      return s.group_by_key_and_window(seconds(2), seconds(1));
    },
    12, seconds(1), parallelism(2, parts));
  std::vector<std::vector<kv>> counts;
  for (auto& batch : out) {
    std::vector<kv> xs;
    for (auto& g : batch) {
      CHECK(g.second == std::vector<int>(g.second.size(), 1));
      xs.emplace_back(g.first, static_cast<int>(g.second.size()));
    }
    counts.push_back(std::move(xs));
  }
  // Spark's bigGroupByOutput holds sequences of 1s: their lengths are the
  // counts of bigReduceOutput.
  CHECK(sorted(counts) == big_reduce_output);
  static_assert(std::is_same_v<decltype(out)::value_type::value_type, group>);
}

TEST_CASE("count_by_window and count_by_value_and_window",
          "[dstream][window]") {
  auto parts = GENERATE(1, 2);
  auto counts = run_operation(
    ints{{1}, {1}, {1, 2}, {0}, {}, {}},
    [](dstream<int> s) { return s.count_by_window(seconds(2), seconds(1)); },
    6, seconds(1), parallelism(2, parts));
  CHECK(counts == std::vector<std::vector<int64_t>>{{1}, {2}, {3}, {3}, {1}, {0}});
  using sc = std::pair<std::string, int64_t>;
  auto by_value = sorted(run_operation(
    std::vector<std::vector<std::string>>{{"a"}, {"b", "b"}, {"a", "b"}},
    [](dstream<std::string> s) {
      return s.count_by_value_and_window(seconds(2), seconds(1));
    },
    3, seconds(1), parallelism(2, parts)));
  CHECK(by_value == std::vector<std::vector<sc>>{
                      {{"a", 1}}, {{"a", 1}, {"b", 2}}, {{"a", 1}, {"b", 3}}});
}

TEST_CASE("reduce_by_window", "[dstream][window]") {
  ints input{{1, 2}, {3}, {}, {4, 5}, {6}};
  auto plain = run_operation(
    input,
    [](dstream<int> s) { return s.reduce_by_window(plus, seconds(2), seconds(1)); },
    5);
  auto incremental = run_operation(
    input,
    [](dstream<int> s) {
      return s.reduce_by_window(plus, minus, seconds(2), seconds(1));
    },
    5);
  // Windows {1,2}, {1,2,3}, {3}, {4,5}, {4,5,6}.
  CHECK(plain == ints{{3}, {6}, {3}, {9}, {15}});
  CHECK(incremental == ints{{3}, {6}, {3}, {9}, {15}});
}

TEST_CASE("window durations must be multiples of the parent's slide",
          "[dstream][window]") {
  streaming_context ssc{seconds(2), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto s = ssc.queue_stream(std::make_shared<rdd_queue<kv>>());
  CHECK_THROWS_WITH(s.window(seconds(3)),
                    "window: the window duration of windowed DStream "
                    "(3000 ms) must be a multiple of the slide duration of "
                    "parent DStream (2000 ms)");
  CHECK_THROWS_WITH(s.window(seconds(4), seconds(1)),
                    Catch::Contains("slide duration of windowed DStream "
                                    "(1000 ms) must be a multiple"));
  CHECK_THROWS_AS(s.reduce_by_key_and_window(plus, minus, seconds(4),
                                             seconds(3)),
                  stream_error);
  CHECK_NOTHROW(s.window(seconds(4), seconds(2)));
}

TEST_CASE("incremental windows need a checkpoint directory",
          "[dstream][window]") {
  streaming_context ssc{seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto s = ssc.queue_stream(std::make_shared<rdd_queue<kv>>());
  s.reduce_by_key_and_window(plus, minus, seconds(2), seconds(1))
    .foreach_rdd([](const rdd<kv>&) {});
  CHECK_THROWS_WITH(ssc.start(), "The checkpoint directory has not been set. "
                                 "Please set it by "
                                 "streaming_context::checkpoint().");
  testing::temporary_directory dir;
  ssc.checkpoint(dir.path());
  CHECK_NOTHROW(ssc.start());
  ssc.stop();
}

TEST_CASE("a window slide whose function throws is taken back, and its "
          "batch stays out of that partition",
          "[dstream][window]") {
  // In batch 2, "x" brings -1 and `f` throws when it adds it to the window:
  // the partition of "x" takes back the keys it already updated and skips
  // batch 2; the other partition counts it.
  const size_t partitions = 2;
  const std::vector<std::string> keys{"a", "b", "c", "d", "e", "f", "g", "h"};
  kvs in(4);
  for (const auto& key : keys) {
    in[0].emplace_back(key, 1);
    in[1].emplace_back(key, 10);
    in[2].emplace_back(key, 100);
    in[3].emplace_back(key, 1000);
  }
  in[0].emplace_back("x", 1);
  in[1].emplace_back("x", -1);
  testing::temporary_directory dir;
  test::pipeline<kv> windows;
  windows.context().checkpoint(dir.path());
  windows.collect(
    testing::detail::add_test_input(windows.context(), in, 2)
      .reduce_by_key_and_window(
        [](int a, int b) {
          if (b < 0)
            throw std::runtime_error("negative value");
          return a + b;
        },
        [](int a, int b) { return a - b; }, seconds(2), seconds(1),
        partitions));
  windows.run(4);
  auto infos = windows.infos();
  REQUIRE(infos.size() == 4);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason, Catch::Contains("negative value"));
  CHECK_FALSE(infos[2].failure_reason);
  CHECK_FALSE(infos[3].failure_reason);
  // Batch 3's window is batches 2 and 3, batch 4's 3 and 4; "x" keeps the
  // value its batch 1 left: 0.
  auto lost = partition_of(std::string{"x"}, partitions);
  std::vector<kv> third{{"x", 0}};
  std::vector<kv> fourth{{"x", 0}};
  size_t with_x = 0;
  for (const auto& key : keys) {
    auto shares = partition_of(key, partitions) == lost;
    with_x += shares ? 1 : 0;
    third.emplace_back(key, shares ? 100 : 110);
    fourth.emplace_back(key, 1100);
  }
  REQUIRE(with_x > 0);
  REQUIRE(with_x < keys.size());
  auto outputs = windows.outputs();
  REQUIRE(outputs.size() == 3);
  CHECK(sorted(kvs{outputs[1]}) == sorted(kvs{third}));
  CHECK(sorted(kvs{outputs[2]}) == sorted(kvs{fourth}));
}

TEST_CASE("a window slide whose filter throws puts back the keys it dropped",
          "[dstream][window]") {
  // The filter throws for a window of 5, and drops "b" the third time it
  // sees it, at 3 s, whose slide then throws for "x": taken back, the slide
  // leaves "b" in the window, and the fourth look keeps it.
  kvs in{{{"b", 7}, {"a", 3}}, {{"a", 1}}, {{"x", 5}}, {{"a", 10}}};
  auto b_seen = std::make_shared<int>(0);
  testing::temporary_directory dir;
  test::pipeline<kv> windows;
  windows.context().checkpoint(dir.path());
  windows.collect(
    testing::detail::add_test_input(windows.context(), in, 1)
      .reduce_by_key_and_window(
        [](int a, int b) { return a + b; }, [](int a, int b) { return a - b; },
        seconds(4), seconds(1), 1, [b_seen](const kv& x) {
          if (x.second == 5)
            throw std::runtime_error("filter saw 5");
          return x.first != "b" || ++*b_seen != 3;
        }));
  windows.run(4);
  auto infos = windows.infos();
  REQUIRE(infos.size() == 4);
  REQUIRE(infos[2].failure_reason);
  CHECK_THAT(*infos[2].failure_reason, Catch::Contains("filter saw 5"));
  CHECK(*b_seen == 4);
  CHECK(sorted(windows.outputs())
        == kvs{{{"a", 3}, {"b", 7}}, {{"a", 4}, {"b", 7}},
               {{"a", 14}, {"b", 7}}});
}
