#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/testing.hpp"

#include "support/files.hpp"
#include "support/tables.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// Checkpoint round trip of every stateful operator: a run stopped after a
// few batches (without a final checkpoint, as if it died) and resumed with
// get_or_create gives, batch for batch, what an uninterrupted run gives. The
// test input is replayable (batch k always holds input[k - 1]), like a file
// source, so the batches since the last state checkpoint run again.

namespace {

using kv = std::pair<std::string, int>;
using kvs = std::vector<std::vector<kv>>;

const kvs input{{{"a", 1}, {"b", 1}}, {{"a", 2}},         {{"c", 5}, {"a", 1}},
                {{"b", 3}},           {},                 {{"a", 1}, {"c", 1}},
                {{"d", 2}},           {{"a", 4}, {"b", 1}}, {},
                {{"c", 2}, {"d", 1}}};

// Output of each batch, by batch number, kept across restarts.
class outputs final : public streaming_listener {
public:
  void add(int64_t k, std::vector<kv> xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::sort(xs.begin(), xs.end());
    by_batch_[k] = std::move(xs);
  }

  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    last_ = info.batch_time;
    cv_.notify_all();
  }

  void wait_for(caf_stream::time t) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, seconds(60), [&] { return last_ >= t; }))
      throw std::runtime_error("batch did not complete");
  }

  kvs table(int64_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    kvs result;
    for (int64_t k = 1; k <= n; ++k)
      result.push_back(by_batch_[k]);
    return result;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<int64_t, std::vector<kv>> by_batch_;
  caf_stream::time last_;
};

template <class Op>
kvs run_with_restart(Op op, int64_t stop_after, int64_t total) {
  testing::temporary_directory dir;
  auto out = std::make_shared<outputs>();
  auto run = [&](int64_t from, int64_t to) {
    auto clk = std::make_shared<testing::manual_clock>(caf_stream::time{from * 1000});
    auto ssc = streaming_context::get_or_create(dir.path(), [&] {
      auto ctx = std::make_unique<streaming_context>(
        seconds(1), support::parallelism(2, 2), clk);
      auto in = testing::detail::add_test_input(*ctx, input, 2);
      op(in).foreach_rdd([out](const rdd<kv>& x, caf_stream::time t) {
        out->add(t.milliseconds() / 1000, x.collect());
      });
      return ctx;
    });
    ssc->add_streaming_listener(out);
    ssc->start();
    for (auto k = from + 1; k <= to; ++k) {
      clk->advance(seconds(1));
      out->wait_for(caf_stream::time{k * 1000});
    }
    ssc->stop(false);
  };
  run(0, stop_after);
  run(stop_after, total);
  return out->table(total);
}

int sum(int a, int b) {
  return a + b;
}

int difference(int a, int b) {
  return a - b;
}

} // namespace

TEST_CASE("stateful operators resume from their checkpoints",
          "[checkpoint][recovery]") {
  // Stopped at 5 s: the state of 4 s is restored and batch 5 runs again.
  auto stop_after = GENERATE(5, 6);
  SECTION("update_state_by_key") {
    auto op = [](dstream<kv> s) {
      auto f = [](const std::vector<int>& xs, std::optional<int> st) {
        auto n = st.value_or(0);
        for (auto x : xs)
          n += x;
        return std::optional<int>{n};
      };
      auto result = s.update_state_by_key(f);
      result.checkpoint(seconds(2));
      return result;
    };
    auto expected = testing::run_operation(input, op, 10);
    CHECK(run_with_restart(op, stop_after, 10) == support::sorted(expected));
  }
  SECTION("map_with_state") {
    auto op = [](dstream<kv> s) {
      auto f = [](const std::string&, std::optional<int> x, state<int>& st) {
        st.update(st.get_option().value_or(0) + x.value_or(0));
        return 0;
      };
      auto mapped = s.map_with_state(state_spec::function(f));
      mapped.checkpoint(seconds(2));
      return mapped.state_snapshots();
    };
    auto expected = testing::run_operation(input, op, 10);
    CHECK(run_with_restart(op, stop_after, 10) == support::sorted(expected));
  }
  SECTION("reduce_by_key_and_window with an inverse function") {
    auto op = [](dstream<kv> s) {
      auto result = s.reduce_by_key_and_window(sum, difference, seconds(3),
                                               seconds(1));
      result.checkpoint(seconds(2));
      return result;
    };
    auto expected = testing::run_operation(input, op, 10);
    CHECK(run_with_restart(op, stop_after, 10) == support::sorted(expected));
  }
}

TEST_CASE("windows over a file stream reach back before a restart",
          "[checkpoint][recovery][window]") {
  // Spark's FileInputDStream keeps the files of the batches its windows
  // need; after recovery a window recomputes the batches before the restart
  // from them instead of seeing only the batches run since.
  namespace fs = std::filesystem;
  testing::temporary_directory input_dir;
  testing::temporary_directory checkpoints;
  auto base = support::wall_clock_second();
  auto out = std::make_shared<outputs>();
  // Batch k (at base + k s) takes the file "k.txt" holding "w<k> 1".
  auto run = [&](int64_t from, int64_t to) {
    auto clk = std::make_shared<testing::manual_clock>(
      caf_stream::time{base + from * 1000});
    auto ssc = streaming_context::get_or_create(checkpoints.path(), [&] {
      auto ctx = std::make_unique<streaming_context>(
        seconds(1), support::parallelism(2, 2), clk);
      ctx->text_file_stream(input_dir.path())
        .window(seconds(3))
        .map([](const std::string& line) {
          auto space = line.find(' ');
          return kv{line.substr(0, space), std::stoi(line.substr(space + 1))};
        })
        .foreach_rdd([out, base](const rdd<kv>& x, caf_stream::time t) {
          out->add((t.milliseconds() - base) / 1000, x.collect());
        });
      return ctx;
    });
    ssc->add_streaming_listener(out);
    ssc->start();
    for (auto k = from + 1; k <= to; ++k) {
      support::write_file(fs::path{input_dir.path()}
                            / (std::to_string(k) + ".txt"),
                          "w" + std::to_string(k) + " 1\n",
                          base + k * 1000 - 500);
      clk->advance(seconds(1));
      out->wait_for(caf_stream::time{base + k * 1000});
    }
    ssc->stop(false);
  };
  run(0, 4);
  run(4, 6);
  CHECK(out->table(6)
        == kvs{{{"w1", 1}},
               {{"w1", 1}, {"w2", 1}},
               {{"w1", 1}, {"w2", 1}, {"w3", 1}},
               {{"w2", 1}, {"w3", 1}, {"w4", 1}},
               {{"w3", 1}, {"w4", 1}, {"w5", 1}},
               {{"w4", 1}, {"w5", 1}, {"w6", 1}}});
}

TEST_CASE("checkpoint intervals are validated", "[checkpoint]") {
  streaming_context ssc{seconds(2), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto s = ssc.queue_stream(std::make_shared<rdd_queue<kv>>());
  auto st = s.update_state_by_key(
    [](const std::vector<int>&, std::optional<int> x) { return x; });
  CHECK_THROWS_WITH(st.checkpoint(seconds(1)),
                    Catch::Contains("which is lower than its slide time "
                                    "(2000 ms)"));
  CHECK_THROWS_WITH(st.checkpoint(seconds(3)),
                    Catch::Contains("not a multiple of its slide time"));
  CHECK_THROWS_WITH(s.checkpoint(seconds(4)),
                    Catch::Contains("only state streams"));
  CHECK_NOTHROW(st.checkpoint(seconds(4)));
}

TEST_CASE("recovery names the batches that run again without their received "
          "data", "[checkpoint]") {
  // Receivers keep what they received in memory: the batches after the
  // state's checkpoint, up to the last one generated before the crash, run
  // again without it.
  struct idle_receiver final : receiver<int> {
    void on_start() override {
      // nop
    }
    void on_stop() override {
      // nop
    }
  };
  detail::recovered_checkpoint cp;
  cp.latest.time_ms = 5000;
  cp.latest.pending_ms = {6000, 7000};
  cp.data.time_ms = 3000;
  streaming_context with{seconds(1), stream_options{},
                         std::make_shared<testing::manual_clock>()};
  with.receiver_stream<int>(std::make_unique<idle_receiver>());
  auto lost = with.graph()->batches_without_received_data(cp);
  REQUIRE(lost);
  CHECK(lost->first.milliseconds() == 4000);
  CHECK(lost->second.milliseconds() == 7000);
  cp.latest.pending_ms.clear();
  cp.data.time_ms = 5000;
  CHECK_FALSE(with.graph()->batches_without_received_data(cp));
  // Replayable inputs (queues, files) lose nothing.
  streaming_context without{seconds(1), stream_options{},
                            std::make_shared<testing::manual_clock>()};
  without.queue_stream(std::make_shared<rdd_queue<kv>>());
  cp.data.time_ms = 3000;
  CHECK_FALSE(without.graph()->batches_without_received_data(cp));
}

TEST_CASE("a graceful stop whose final checkpoint cannot be written says why",
          "[checkpoint]") {
  testing::temporary_directory dir;
  auto path = dir.path() + "/checkpoints";
  auto clk = std::make_shared<testing::manual_clock>();
  streaming_context ssc{seconds(1), testing::default_test_options(), clk};
  ssc.checkpoint(path);
  auto queue = std::make_shared<rdd_queue<kv>>();
  ssc.queue_stream(queue)
    .update_state_by_key(
      [](const std::vector<int>& xs, std::optional<int> total) {
        return std::optional<int>{
          std::accumulate(xs.begin(), xs.end(), total.value_or(0))};
      })
    .foreach_rdd([](const rdd<kv>&) {});
  auto batches = std::make_shared<outputs>();
  ssc.add_streaming_listener(batches);
  ssc.start();
  // The directory is a file by the time the checkpoints are written.
  std::filesystem::remove_all(path);
  std::ofstream{path} << "not a directory\n";
  queue->push(ssc.parallelize(std::vector<kv>{{"a", 1}}, 1));
  clk->advance(seconds(1));
  batches->wait_for(caf_stream::time{1000});
  CHECK_THROWS_WITH(ssc.stop(true),
                    Catch::StartsWith("the final checkpoint of batch")
                      && Catch::Contains("Not a directory"));
  // Stopped all the same.
  CHECK_THROWS_AS(ssc.start(), stream_error);
}
