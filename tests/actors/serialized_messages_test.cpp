#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actor_stream.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/words.hpp"

using namespace caf_stream;

namespace {

using count = std::pair<std::string, int64_t>;
using counts = std::vector<count>;

constexpr auto due = std::chrono::seconds(60);

counts sorted(counts xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

struct opaque {
  int x = 0;
};

} // namespace

// The property the multi-node runtime rests on: a batch and its tasks can
// be written to bytes and read back, and what is read back computes the
// same. With `stream.serialize-messages` every job set (with its received
// blocks) and every task makes that trip before it is handled, and tasks
// find their stage by name.
TEST_CASE("a word count whose every batch and task went through bytes "
          "counts what one that stays on its node counts",
          "[actors][serialized]") {
  auto opts = testing::default_test_options();
  opts.serialize_messages = true;
  test::pipeline<count> p{opts};
  auto [lines, handle] = p.context().actor_stream<std::string>("lines");
  auto pairs = lines.flat_map(support::split_words).map([](const std::string& w) {
    return std::make_pair(w, int64_t{1});
  });
  auto plus = [](int64_t x, int64_t y) { return x + y; };
  p.collect(pairs.reduce_by_key(plus, 3));
  // A window reaches back to the blocks of the batch before.
  std::mutex mtx;
  std::vector<counts> windows;
  pairs.reduce_by_key_and_window(plus, std::chrono::seconds(2))
    .foreach_rdd([&](const rdd<count>& x) {
      std::lock_guard<std::mutex> guard{mtx};
      windows.push_back(sorted(x.collect()));
    });
  p.context().start();
  caf::scoped_actor self{p.context().system()};
  auto store = [&](std::vector<std::string> xs) {
    auto n = xs.size();
    self->request(handle, due, std::move(xs))
      .receive([&](uint64_t stored) { CHECK(stored == n); },
               [&](caf::error& e) { FAIL(self->system().render(e)); });
  };
  store({"a b", "b"});
  p.next_batch();
  store({"b c"});
  p.next_batch();
  p.next_batch();
  p.context().stop();
  std::vector<counts> out;
  for (auto& batch : p.outputs())
    out.push_back(sorted(batch));
  CHECK(out
        == std::vector<counts>{{{"a", 1}, {"b", 2}},
                               {{"b", 1}, {"c", 1}},
                               {}});
  CHECK(windows
        == std::vector<counts>{{{"a", 1}, {"b", 2}},
                               {{"a", 1}, {"b", 3}, {"c", 1}},
                               {{"b", 1}, {"c", 1}}});
  for (auto& info : p.infos())
    CHECK_FALSE(info.failure_reason);
}

TEST_CASE("a batch whose records cannot be written to bytes cannot go "
          "through bytes, with a clear error",
          "[actors][serialized]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  detail::block_buffer<opaque> buf{0};
  buf.push(opaque{1});
  job_set js;
  js.batch_time = caf_stream::time{1000};
  js.blocks[0] = buf.seal();
  CHECK_THROWS_WITH(actors::through_bytes(sys, js),
                    Catch::Contains("cannot leave this node"));
}

TEST_CASE("a queue stream's RDDs travel in the job set, through bytes, "
          "and a window reaches back to them",
          "[actors][serialized]") {
  auto opts = testing::default_test_options();
  opts.serialize_messages = true;
  test::pipeline<count> p{opts};
  auto queue = std::make_shared<rdd_queue<std::string>>();
  queue->push(parallelize(std::vector<std::string>{"a b", "b"}, 2));
  queue->push(parallelize(std::vector<std::string>{"b c"}, 2));
  auto pairs = p.context()
                 .queue_stream(queue)
                 .flat_map(support::split_words)
                 .map([](const std::string& w) {
                   return std::make_pair(w, int64_t{1});
                 });
  auto plus = [](int64_t x, int64_t y) { return x + y; };
  p.collect(pairs.reduce_by_key_and_window(plus, std::chrono::seconds(2)));
  p.run(3);
  std::vector<counts> out;
  for (auto& batch : p.outputs())
    out.push_back(sorted(batch));
  CHECK(out
        == std::vector<counts>{{{"a", 1}, {"b", 2}},
                               {{"a", 1}, {"b", 3}, {"c", 1}},
                               {{"b", 1}, {"c", 1}}});
  for (auto& info : p.infos())
    CHECK_FALSE(info.failure_reason);
}

TEST_CASE("a batch whose queue RDD cannot be written to bytes cannot go "
          "through bytes, with a clear error",
          "[actors][serialized]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto clk = std::make_shared<testing::manual_clock>();
  streaming_context ssc{sys, std::chrono::seconds(1), clk};
  auto queue = std::make_shared<rdd_queue<opaque>>();
  queue->push(parallelize(std::vector<opaque>{opaque{1}}, 1));
  ssc.queue_stream(queue).foreach_rdd([](const rdd<opaque>&) {});
  job_set js;
  js.batch_time = caf_stream::time{1000};
  js.inputs = ssc.graph()->generate_inputs(js.batch_time);
  REQUIRE(js.inputs.size() == 1);
  CHECK_THROWS_WITH(actors::through_bytes(sys, js),
                    Catch::Contains("cannot leave this node"));
}
