#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_waiter.hpp"
#include "support/kafka_cluster.hpp"
#include "support/log_capture.hpp"
#include "support/ports.hpp"
#include "support/words.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// A direct Kafka stream with a worker node: the driver fixes each batch's
// offset ranges and sends the node the ranges its map tasks read, not the
// records; the node's tasks read them from Kafka themselves (librdkafka's
// mock cluster, in this process), as Spark's executors do. The node runs
// on an actor system of its own in this process.

namespace {

using record = kafka::consumer_record<std::string, std::string>;
using count = std::pair<std::string, int64_t>;
using counts = std::map<std::string, int64_t>;

const std::string app_id = "kafka-node-tests";

// The program of both ends: the words of the values of topic "lines" at
// `bootstraps`, counted per batch.
dstream<count> word_counts(streaming_context& ssc,
                           const std::string& bootstraps) {
  kafka::params params{{"bootstrap.servers", bootstraps},
                       {"auto.offset.reset", "earliest"}};
  return kafka::create_direct_stream(
           ssc, kafka::prefer_consistent(),
           kafka::subscribe<std::string, std::string>({"lines"}, params))
    .flat_map([](const record& r) { return support::split_words(r.value); })
    .map([](const std::string& w) { return count{w, 1}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
}

// Each batch's counts, by batch (from 1).
class collected final : public support::batch_waiter {
public:
  void add(caf_stream::time t, const std::vector<count>& xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& batch = counts_[t.milliseconds() / 1000];
    for (const auto& [w, n] : xs)
      batch[w] += n;
  }

  counts of(int64_t k) {
    std::lock_guard<std::mutex> guard{mtx_};
    return counts_[k];
  }

private:
  std::mutex mtx_;
  std::map<int64_t, counts> counts_;
};

// The map tasks that ran on the worker node `node`, as the executor logged
// them ("batch 1000 ms: 2 map tasks of stream 2 ran on the worker node
// ...").
int64_t map_tasks_on(const support::log_capture& log,
                     const std::string& node) {
  auto tail = " ran on the worker node " + node;
  int64_t result = 0;
  for (const auto& line : log.lines()) {
    auto at = line.find(" ms: ");
    auto what = line.find(" map tasks of stream ");
    if (at == std::string::npos || what == std::string::npos
        || line.find(tail) == std::string::npos)
      continue;
    result += std::stoll(line.substr(at + 5, what - at - 5));
  }
  return result;
}

// Each batch's lines, spread over the topic's two partitions, and their
// counts (Spark's semantics, written out).
const std::vector<std::vector<std::string>> lines{
  {"to be or not to be", "that is the question"},
  {"be be be", "or"},
  {},
  {"the slings and arrows", "of outrageous fortune", "to be"}};

const std::vector<counts> expected{
  {{"to", 2}, {"be", 2}, {"or", 1}, {"not", 1}, {"that", 1}, {"is", 1},
   {"the", 1}, {"question", 1}},
  {{"be", 3}, {"or", 1}},
  {},
  {{"the", 1}, {"slings", 1}, {"and", 1}, {"arrows", 1}, {"of", 1},
   {"outrageous", 1}, {"fortune", 1}, {"to", 1}, {"be", 1}}};

// Runs the batches of `lines` through a driver whose map tasks go to a
// worker node reading Kafka at `node_bootstraps` (waiting
// `node_poll_timeout` for it, "120s" say); checks each batch's counts.
// Returns the node's address.
std::string run_batches(support::kafka_cluster& kc,
                        const std::string& node_bootstraps,
                        std::string node_poll_timeout) {
  kc.create_topic("lines", 2);
  // The worker node.
  stream_config cfg;
  auto poll = "--stream.kafka.poll-timeout=" + node_poll_timeout;
  char program[] = "node";
  char* argv[] = {program, poll.data()};
  REQUIRE(cfg.parse_command_line(2, argv).empty());
  cfg.set("stream.app-id", app_id);
  cfg.set("stream.workers", size_t{2});
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  streaming_context node{sys, seconds(1),
                         std::make_shared<testing::manual_clock>()};
  word_counts(node, node_bootstraps).foreach_rdd([](const rdd<count>&) {});
  auto address = "127.0.0.1:" + std::to_string(node.serve(0));
  // The driver.
  auto opts = testing::default_test_options();
  opts.workers = 2;
  opts.state_nodes = {address};
  opts.tasks = task_placement::workers;
  opts.app_id = app_id;
  // Bounds the node's answer, and reaching it on a loaded machine.
  opts.state_timeout = duration{10000};
  auto clk = std::make_shared<testing::manual_clock>();
  auto out = std::make_shared<collected>();
  streaming_context ssc{seconds(1), opts, clk};
  word_counts(ssc, kc.bootstraps())
    .foreach_rdd([out](const rdd<count>& x, caf_stream::time t) {
      out->add(t, x.collect());
    });
  ssc.add_streaming_listener(out);
  ssc.start();
  for (size_t k = 1; k <= lines.size(); ++k) {
    for (size_t i = 0; i < lines[k - 1].size(); ++i)
      kc.produce("lines", static_cast<int32_t>(i % 2), "", lines[k - 1][i]);
    clk->advance(seconds(1));
    out->wait_for(k);
  }
  for (size_t k = 1; k <= lines.size(); ++k)
    CHECK(out->of(static_cast<int64_t>(k)) == expected[k - 1]);
  CHECK(out->failures().empty());
  ssc.stop(false);
  return address;
}

} // namespace

TEST_CASE("a direct Kafka stream's map tasks run on a worker node, which "
          "reads its ranges from Kafka: the counts are exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  support::kafka_cluster kc;
  auto address = run_batches(kc, kc.bootstraps(), "120s");
  // Every batch's two map tasks (one per Kafka partition) ran on the node.
  CHECK(map_tasks_on(log, address) == 8);
}

TEST_CASE("a worker node that cannot reach Kafka fails its map tasks, which "
          "run again elsewhere: the counts stay exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::kafka_cluster kc;
  // The node's program names a broker that is not there.
  auto nowhere = "127.0.0.1:" + std::to_string(support::free_port());
  auto address = run_batches(kc, nowhere, "1s");
  // Had the records come with the stage, the node would have counted them.
  CHECK(log.contains("map tasks on the worker node " + address + " failed"));
}
