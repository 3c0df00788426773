#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <numeric>
#include <optional>
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

// The state cases of Spark's BasicOperationsSuite and MapWithStateSuite,
// with literal tables, each run with several partition counts.

namespace {

using strings = std::vector<std::vector<std::string>>;
using kv = std::pair<std::string, int>;
using kvs = std::vector<std::vector<kv>>;

const strings input{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}};

const kvs running_counts{{{"a", 1}},
                         {{"a", 2}, {"b", 1}},
                         {{"a", 3}, {"b", 2}, {"c", 1}},
                         {{"a", 4}, {"b", 3}, {"c", 1}},
                         {{"a", 5}, {"b", 3}, {"c", 1}},
                         {{"a", 5}, {"b", 3}, {"c", 1}}};

std::optional<int> running_sum(const std::vector<int>& values,
                               std::optional<int> state) {
  return std::accumulate(values.begin(), values.end(), state.value_or(0));
}

dstream<kv> pairs(dstream<std::string> s) {
  return s.map([](const std::string& x) { return kv{x, 1}; });
}

// The options of the tests whose batches fail: `partitions` partitions.
stream_options failing_options(size_t partitions) {
  auto opts = testing::default_test_options();
  opts.default_parallelism = partitions;
  return opts;
}

} // namespace

TEST_CASE("update_state_by_key", "[dstream][state]") {
  auto parts = GENERATE(1, 2, 3);
  auto opts = parallelism(2, parts);
  SECTION("running counts") {
    auto out = run_operation(
      input,
      [](dstream<std::string> s) { return pairs(s).update_state_by_key(running_sum); },
      6, seconds(1), opts);
    CHECK(sorted(out) == running_counts);
  }
  SECTION("with an initial state") {
    auto out = run_operation(
      input,
      [](dstream<std::string> s) {
        auto initial = parallelize(std::vector<kv>{{"a", 1}, {"c", 2}}, 2);
        return pairs(s).update_state_by_key<int>(running_sum, 0, initial);
      },
      6, seconds(1), opts);
    CHECK(sorted(out) == kvs{{{"a", 2}, {"c", 2}},
                             {{"a", 3}, {"b", 1}, {"c", 2}},
                             {{"a", 4}, {"b", 2}, {"c", 3}},
                             {{"a", 5}, {"b", 3}, {"c", 3}},
                             {{"a", 6}, {"b", 3}, {"c", 3}},
                             {{"a", 6}, {"b", 3}, {"c", 3}}});
  }
  SECTION("returning nullopt removes the key") {
    auto out = run_operation(
      strings{{"a"}, {"a", "b"}, {"c"}, {}},
      [](dstream<std::string> s) {
        return pairs(s).update_state_by_key(
          [](const std::vector<int>& values, std::optional<int> state) {
            if (values.empty())
              return std::optional<int>{};
            return running_sum(values, state);
          });
      },
      4, seconds(1), opts);
    CHECK(sorted(out) == kvs{{{"a", 1}}, {{"a", 2}, {"b", 1}}, {{"c", 1}}, {}});
  }
  SECTION("the function with time and key") {
    // The state is the second of the batch in which the key last had data.
    auto out = run_operation(
      strings{{"a"}, {"b"}, {}},
      [](dstream<std::string> s) {
        return pairs(s).update_state_by_key(
          [](caf_stream::time t, const std::string&,
             const std::vector<int>& values, std::optional<int64_t> state) {
            if (values.empty())
              return state;
            return std::optional<int64_t>{t.milliseconds() / 1000};
          });
      },
      3, seconds(1), opts);
    using ks = std::pair<std::string, int64_t>;
    CHECK(sorted(out) == std::vector<std::vector<ks>>{
                           {{"a", 1}}, {{"a", 1}, {"b", 2}}, {{"a", 1}, {"b", 2}}});
  }
}

TEST_CASE("map_with_state", "[dstream][state]") {
  auto parts = GENERATE(1, 2, 3);
  auto opts = parallelism(2, parts);
  const strings in{{}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}};
  const kvs states{{},
                   {{"a", 1}},
                   {{"a", 2}, {"b", 1}},
                   {{"a", 3}, {"b", 2}, {"c", 1}},
                   {{"a", 4}, {"b", 3}, {"c", 1}},
                   {{"a", 5}, {"b", 3}, {"c", 1}},
                   {{"a", 5}, {"b", 3}, {"c", 1}}};
  auto count = [](const std::string&, std::optional<int> value,
                  state<int>& st) {
    auto sum = value.value_or(0) + st.get_option().value_or(0);
    st.update(sum);
    return sum;
  };
  SECTION("basic operations with the simple function") {
    auto out = run_operation(
      in,
      [=](dstream<std::string> s) {
        return pairs(s).map_with_state(state_spec::function(count));
      },
      7, seconds(1), opts);
    CHECK(sorted(out) == std::vector<std::vector<int>>{
                           {}, {1}, {1, 2}, {1, 2, 3}, {3, 4}, {5}, {}});
    auto snapshots = run_operation(
      in,
      [=](dstream<std::string> s) {
        return pairs(s).map_with_state(state_spec::function(count)).state_snapshots();
      },
      7, seconds(1), opts);
    CHECK(sorted(snapshots) == states);
  }
  SECTION("the function with time, returning optional") {
    auto twice = [](caf_stream::time, const std::string& key,
                    std::optional<int> value, state<int>& st) {
      st.update(value.value_or(0) + st.get_option().value_or(0));
      return std::optional<std::string>{key + key};
    };
    auto out = run_operation(
      in,
      [=](dstream<std::string> s) {
        return pairs(s).map_with_state(state_spec::function(twice));
      },
      7, seconds(1), opts);
    CHECK(sorted(out) == strings{{}, {"aa"}, {"aa", "bb"}, {"aa", "bb", "cc"},
                                 {"aa", "bb"}, {"aa"}, {}});
  }
  SECTION("initial state, nothing returned") {
    auto silent = [](caf_stream::time, const std::string&,
                     std::optional<int> value, state<int>& st) {
      st.update(value.value_or(0) + st.get_option().value_or(0));
      return std::optional<int>{};
    };
    auto snapshots = run_operation(
      in,
      [=](dstream<std::string> s) {
        auto initial = parallelize(
          std::vector<kv>{{"a", 5}, {"b", 10}, {"c", -20}, {"d", 0}}, 2);
        return pairs(s)
          .map_with_state(state_spec::function(silent).initial_state(initial))
          .state_snapshots();
      },
      7, seconds(1), opts);
    CHECK(sorted(snapshots)
          == kvs{{{"a", 5}, {"b", 10}, {"c", -20}, {"d", 0}},
                 {{"a", 6}, {"b", 10}, {"c", -20}, {"d", 0}},
                 {{"a", 7}, {"b", 11}, {"c", -20}, {"d", 0}},
                 {{"a", 8}, {"b", 12}, {"c", -19}, {"d", 0}},
                 {{"a", 9}, {"b", 13}, {"c", -19}, {"d", 0}},
                 {{"a", 10}, {"b", 13}, {"c", -19}, {"d", 0}},
                 {{"a", 10}, {"b", 13}, {"c", -19}, {"d", 0}}});
  }
  SECTION("removing state") {
    auto toggle = [](caf_stream::time, const std::string& key,
                     std::optional<int> value, state<int>& st) {
      if (st.exists()) {
        st.remove();
        return std::optional<std::string>{key};
      }
      st.update(*value);
      return std::optional<std::string>{};
    };
    const strings toggles{{},         {"a"},      {"a", "b"}, {"a", "b", "c"},
                          {"a", "b", "c"}, {"a", "b"}, {"a"},      {}};
    auto out = run_operation(
      toggles,
      [=](dstream<std::string> s) {
        return pairs(s).map_with_state(state_spec::function(toggle));
      },
      8, seconds(1), opts);
    CHECK(sorted(out)
          == strings{{}, {}, {"a"}, {"b"}, {"a", "c"}, {"b"}, {"a"}, {}});
    auto snapshots = run_operation(
      toggles,
      [=](dstream<std::string> s) {
        return pairs(s)
          .map_with_state(state_spec::function(toggle))
          .state_snapshots();
      },
      8, seconds(1), opts);
    CHECK(sorted(snapshots) == kvs{{},
                                   {{"a", 1}},
                                   {{"b", 1}},
                                   {{"a", 1}, {"c", 1}},
                                   {{"b", 1}},
                                   {{"a", 1}},
                                   {},
                                   {}});
  }
}

TEST_CASE("map_with_state times out idle keys", "[dstream][state]") {
  auto parts = GENERATE(1, 2);
  // c last has data at 1 s and b at 2 s; with a 3 s timeout they are idle
  // for longer than that at 5 s and 6 s. a has data again at 6 s.
  strings in{{"a", "b", "c"}, {"a", "b"}, {"a"}, {}, {}, {"a"}, {"a"}, {}};
  auto expire = [](caf_stream::time, const std::string& key,
                   std::optional<int> value, state<int>& st) {
    if (value)
      st.update(1);
    if (st.is_timing_out()) {
      // No Catch2 assertions here: this runs on the operator workers.
      try {
        st.update(2);
        return std::optional<std::string>{key + ": updated while timing out"};
      } catch (const stream_error& e) {
        return std::optional<std::string>{key + ": " + e.what()};
      }
    }
    return std::optional<std::string>{};
  };
  auto spec = [=] { return state_spec::function(expire).timeout(seconds(3)); };
  auto out = run_operation(
    in, [=](dstream<std::string> s) { return pairs(s).map_with_state(spec()); },
    8, seconds(1), parallelism(2, parts));
  const std::string refused = ": Cannot update the state that is timing out";
  CHECK(out
        == strings{{}, {}, {}, {}, {"c" + refused}, {"b" + refused}, {}, {}});
  auto snapshots = run_operation(
    in,
    [=](dstream<std::string> s) {
      return pairs(s).map_with_state(spec()).state_snapshots();
    },
    8, seconds(1), parallelism(2, parts));
  CHECK(sorted(snapshots) == kvs{{{"a", 1}, {"b", 1}, {"c", 1}},
                                 {{"a", 1}, {"b", 1}, {"c", 1}},
                                 {{"a", 1}, {"b", 1}, {"c", 1}},
                                 {{"a", 1}, {"b", 1}, {"c", 1}},
                                 {{"a", 1}, {"b", 1}},
                                 {{"a", 1}},
                                 {{"a", 1}},
                                 {{"a", 1}}});
}

TEST_CASE("map_with_state times out an initial state's keys counting from "
          "the first batch", "[dstream][state]") {
  auto parts = GENERATE(1, 2);
  // Spark stamps the initial state with the first batch's time (1 s): with
  // a 1 s timeout, a is idle for longer than that at 3 s, not at 2 s.
  auto report = [](caf_stream::time t, const std::string& key,
                   std::optional<int>, state<int>& st) {
    if (st.is_timing_out())
      return std::optional<std::string>{key + " at "
                                        + std::to_string(t.milliseconds())};
    return std::optional<std::string>{};
  };
  auto out = run_operation(
    strings{{}, {}, {}, {}},
    [=](dstream<std::string> s) {
      auto initial = parallelize(std::vector<kv>{{"a", 1}}, 1);
      return pairs(s).map_with_state(
        state_spec::function(report).initial_state(initial).timeout(
          seconds(1)));
    },
    4, seconds(1), parallelism(2, parts));
  CHECK(out == strings{{}, {}, {"a at 3000"}, {}});
}

TEST_CASE("state streams checkpoint at Spark's default intervals",
          "[dstream][state]") {
  // map_with_state: 10 slides (Spark's MapWithStateDStream); the others:
  // the smallest multiple of the slide of at least 10 s.
  auto [batch_ms, mws_ms, usbk_ms] = GENERATE(table<int, int, int>(
    {{100, 1000, 10000}, {1000, 10000, 10000}, {3000, 30000, 12000}}));
  testing::temporary_directory dir;
  streaming_context ssc{std::chrono::milliseconds(batch_ms),
                        testing::default_test_options(),
                        std::make_shared<testing::manual_clock>()};
  auto in = pairs(ssc.queue_stream(std::make_shared<rdd_queue<std::string>>()));
  auto count = [](caf_stream::time, const std::string&,
                  std::optional<int> value, state<int>& st) {
    st.update(st.get_option().value_or(0) + value.value_or(0));
    return std::optional<int>{};
  };
  auto mws = in.map_with_state(state_spec::function(count));
  auto usbk = in.update_state_by_key<int>(running_sum);
  mws.foreach_rdd([](const rdd<int>&) {});
  usbk.foreach_rdd([](const rdd<kv>&) {});
  ssc.checkpoint(dir.path());
  ssc.graph()->start(caf_stream::time{0});
  CHECK(mws.node()->checkpoint_interval().count() == mws_ms);
  CHECK(usbk.node()->checkpoint_interval().count() == usbk_ms);
}

TEST_CASE("state streams need a checkpoint directory", "[dstream][state]") {
  streaming_context ssc{seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto s = ssc.queue_stream(std::make_shared<rdd_queue<kv>>());
  s.update_state_by_key(running_sum).print();
  CHECK_THROWS_WITH(ssc.start(), Catch::StartsWith("The checkpoint directory "
                                                   "has not been set"));
}

TEST_CASE("a state stream applies each batch once when a job of it fails",
          "[dstream][state]") {
  // Batch 2's "boom" makes the function throw: the partition of "boom"
  // fails, the other partition succeeds. Both outputs of the batch fail,
  // and the second computes the stream again: no partition may count its
  // records twice. The partition that failed takes back the records it
  // applied before "boom": it counts none of batch 2.
  auto boom_first = GENERATE(true, false);
  const size_t partitions = 2;
  const std::vector<std::string> keys{"a", "b", "c", "d", "e", "f", "g", "h"};
  strings in{keys, keys, keys};
  if (boom_first)
    in[1].insert(in[1].begin(), "boom");
  else
    in[1].push_back("boom");
  auto count = [](const std::string& key, std::optional<int>,
                  state<int>& st) {
    if (key == "boom")
      throw std::runtime_error("boom");
    st.update(st.get_option().value_or(0) + 1);
    return key;
  };
  testing::temporary_directory dir;
  test::pipeline<kv> snapshots{failing_options(partitions)};
  snapshots.context().checkpoint(dir.path());
  auto mapped
    = pairs(testing::detail::add_test_input(snapshots.context(), in, 1))
        .map_with_state(state_spec::function(count));
  mapped.foreach_rdd([](const rdd<std::string>& x) { x.count(); });
  snapshots.collect(mapped.state_snapshots());
  snapshots.run(3);
  auto infos = snapshots.infos();
  REQUIRE(infos.size() == 3);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason, Catch::Contains("boom"));
  CHECK_FALSE(infos[2].failure_reason);
  // Three records of each key, less batch 2's in the partition of "boom",
  // whether "boom" came first or last.
  auto lost = partition_of(std::string{"boom"}, partitions);
  std::vector<kv> expected;
  size_t with_boom = 0;
  for (const auto& key : keys) {
    auto shares = partition_of(key, partitions) == lost;
    with_boom += shares ? 1 : 0;
    expected.emplace_back(key, shares ? 2 : 3);
  }
  // Keys on both sides of the failure.
  REQUIRE(with_boom > 0);
  REQUIRE(with_boom < keys.size());
  auto outputs = snapshots.outputs();
  REQUIRE(outputs.size() == 2);
  CHECK(sorted(kvs{outputs.back()}) == kvs{expected});
}

TEST_CASE("a map_with_state batch whose timeout call throws is taken back",
          "[dstream][state]") {
  // Every key has data at 1 s; the keys other than "t" again at 3 s. With a
  // 1 s timeout "t" times out at 3 s, and the function throws for it, once:
  // the partition of "t" takes back batch 3, so its keys keep their time of
  // 1 s and "t" stays queued. At 4 s they all time out, "t" included; the
  // other partition's keys, updated at 3 s, are kept.
  const size_t partitions = 2;
  const std::vector<std::string> keys{"a", "b", "c", "d", "e", "f", "g", "h"};
  auto first = keys;
  first.push_back("t");
  strings in{first, {}, keys, {}};
  auto thrown = std::make_shared<bool>(false);
  auto count = [thrown](caf_stream::time, const std::string& key,
                        std::optional<int> value, state<int>& st)
    -> std::optional<std::string> {
    if (st.is_timing_out()) {
      if (key == "t" && !*thrown) {
        *thrown = true;
        throw std::runtime_error("timing out t");
      }
      return "timed out " + key;
    }
    st.update(st.get_option().value_or(0) + *value);
    return std::nullopt;
  };
  testing::temporary_directory dir;
  test::pipeline<std::string> outputs{failing_options(partitions)};
  auto& ssc = outputs.context();
  ssc.checkpoint(dir.path());
  auto mapped = pairs(testing::detail::add_test_input(ssc, in, 1))
                  .map_with_state(
                    state_spec::function(count).timeout(seconds(1)));
  outputs.collect(mapped);
  auto snapshots = std::make_shared<testing::detail::output_collector<kv>>();
  mapped.state_snapshots().foreach_rdd(
    [snapshots](const rdd<kv>& x) { snapshots->add(x.collect()); });
  outputs.run(4);
  auto infos = outputs.infos();
  REQUIRE(infos.size() == 4);
  CHECK_FALSE(infos[1].failure_reason);
  REQUIRE(infos[2].failure_reason);
  CHECK_THAT(*infos[2].failure_reason, Catch::Contains("timing out t"));
  CHECK_FALSE(infos[3].failure_reason);
  auto lost = partition_of(std::string{"t"}, partitions);
  std::vector<std::string> timed_out{"timed out t"};
  std::vector<kv> kept;
  for (const auto& key : keys) {
    if (partition_of(key, partitions) == lost)
      timed_out.push_back("timed out " + key);
    else
      kept.emplace_back(key, 2);
  }
  REQUIRE(timed_out.size() > 1);
  REQUIRE_FALSE(kept.empty());
  // Batches 1, 2 and 4 succeeded.
  auto out = outputs.outputs();
  REQUIRE(out.size() == 3);
  CHECK(out[1].empty());
  CHECK(sorted(strings{out[2]}) == sorted(strings{timed_out}));
  auto snaps = snapshots->outputs();
  REQUIRE(snaps.size() == 3);
  CHECK(sorted(kvs{snaps[2]}) == kvs{kept});
}

// Spark runs a state stream's function inside a task, where an RDD action is
// refused (SPARK-5063); so does caf-stream at the state's holders. Batch 2
// calls one and fails; with one partition none of it counts, and batch 3
// goes on from batch 1's state.
TEST_CASE("an RDD action inside a state or window function fails its batch",
          "[dstream][state]") {
  const strings in{{"a"}, {"x"}, {"a", "b"}};
  auto inner = parallelize(std::vector<int>{1, 2, 3}, 2);
  testing::temporary_directory dir;
  test::pipeline<kv> p{failing_options(1)};
  p.context().checkpoint(dir.path());
  auto input = pairs(testing::detail::add_test_input(p.context(), in, 1));
  // Batch 3's output: the state of batches 1 and 3.
  std::vector<kv> expected{{"a", 2}, {"b", 1}};
  SECTION("update_state_by_key") {
    p.collect(input.update_state_by_key(
      [&](caf_stream::time, const std::string& key,
          const std::vector<int>& values, std::optional<int> state) {
        if (key == "x")
          inner.count();
        return running_sum(values, state);
      }));
  }
  SECTION("map_with_state (its snapshots)") {
    auto f = [&](const std::string& key, std::optional<int> value,
                 state<int>& st) {
      if (key == "x")
        inner.count();
      st.update(st.get_option().value_or(0) + *value);
      return key;
    };
    p.collect(input.map_with_state(state_spec::function(f)).state_snapshots());
  }
  SECTION("reduce_by_key_and_window with the inverse function") {
    // "x" is ("a", 100), alone in batch 2, so that the batch's own reduce
    // calls no function: the holder adds it to batch 1's 1 and calls the
    // action. The window at 3 s: batch 3's records, batch 1 having left and
    // batch 2 left out.
    p.collect(input
                .map([](const kv& x) {
                  return x.first == "x" ? kv{"a", 100} : x;
                })
                .reduce_by_key_and_window(
                  [&](int a, int b) {
                    if (b >= 100)
                      inner.count();
                    return a + b;
                  },
                  [](int a, int b) { return a - b; }, seconds(2),
                  seconds(1), 1));
    expected = {{"a", 1}, {"b", 1}};
  }
  p.run(3);
  auto infos = p.infos();
  REQUIRE(infos.size() == 3);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason,
             Catch::Contains("an RDD action ran inside a task"));
  CHECK_FALSE(infos[2].failure_reason);
  auto out = p.outputs();
  REQUIRE(out.size() == 2);
  CHECK(sorted(kvs{out[0], out[1]}) == kvs{{{"a", 1}}, expected});
}
