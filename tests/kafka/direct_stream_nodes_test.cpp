#include <catch2/catch.hpp>

#include <algorithm>
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

// Where the program counts a batch's words: in a shuffle (map and reduce
// tasks), or in the driver's output, which sums the (word, 1) pairs that
// result tasks over the Kafka stream's one-to-one lineage bring.
enum class counting { by_key, in_output };

// The program of every end: the words of the values of topic "lines" at
// `bootstraps` as (word, count) pairs, their tasks where `where` prefers.
dstream<count>
word_counts(streaming_context& ssc, const std::string& bootstraps,
            counting how = counting::by_key,
            kafka::location_strategy where = kafka::prefer_consistent()) {
  kafka::params params{{"bootstrap.servers", bootstraps},
                       {"auto.offset.reset", "earliest"}};
  auto pairs
    = kafka::create_direct_stream(
        ssc, std::move(where),
        kafka::subscribe<std::string, std::string>({"lines"}, params))
        .flat_map(
          [](const record& r) { return support::split_words(r.value); })
        .map([](const std::string& w) { return count{w, 1}; });
  if (how == counting::in_output)
    return pairs;
  return pairs.reduce_by_key([](int64_t a, int64_t b) { return a + b; });
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

// The tasks of a kind ("map", "result") that ran on the worker node
// `node`, as the executor logged them ("batch 1000 ms: 2 map tasks of
// stream 2 ran on the worker node ...").
int64_t tasks_on(const support::log_capture& log, const std::string& node,
                 const std::string& kind = "map") {
  auto tail = " ran on the worker node " + node + " ";
  int64_t result = 0;
  for (const auto& line : log.lines()) {
    auto at = line.find(" ms: ");
    auto what = line.find(" " + kind + " tasks of stream ");
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

// A worker node on an actor system of its own in this process, serving
// the program with Kafka at `bootstraps` (waiting `poll_timeout` for it,
// "120s" say).
class worker_node {
public:
  worker_node(const std::string& bootstraps, std::string poll_timeout,
              counting how = counting::by_key) {
    auto poll = "--stream.kafka.poll-timeout=" + poll_timeout;
    char program[] = "node";
    char* argv[] = {program, poll.data()};
    REQUIRE(cfg_.parse_command_line(2, argv).empty());
    cfg_.set("stream.app-id", app_id);
    cfg_.set("stream.workers", size_t{2});
    load_node_modules(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    ssc_ = std::make_unique<streaming_context>(
      *sys_, seconds(1), std::make_shared<testing::manual_clock>());
    word_counts(*ssc_, bootstraps, how)
      .foreach_rdd([](const rdd<count>&) {});
    address_ = "127.0.0.1:" + std::to_string(ssc_->serve(0));
  }

  const std::string& address() const noexcept {
    return address_;
  }

private:
  stream_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<streaming_context> ssc_;
  std::string address_;
};

// Runs the batches of `lines` through a driver whose tasks go to `nodes`,
// where `where` prefers; checks each batch's counts.
void run_batches(support::kafka_cluster& kc,
                 const std::vector<std::string>& nodes,
                 kafka::location_strategy where = kafka::prefer_consistent(),
                 counting how = counting::by_key) {
  auto opts = testing::default_test_options();
  opts.workers = 2;
  opts.state_nodes = nodes;
  opts.tasks = task_placement::workers;
  opts.app_id = app_id;
  // Bounds the nodes' answers, and reaching them on a loaded machine.
  opts.state_timeout = duration{10000};
  auto clk = std::make_shared<testing::manual_clock>();
  auto out = std::make_shared<collected>();
  streaming_context ssc{seconds(1), opts, clk};
  word_counts(ssc, kc.bootstraps(), how, std::move(where))
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
}

} // namespace

TEST_CASE("a direct Kafka stream's map tasks run on a worker node, which "
          "reads its ranges from Kafka: the counts are exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  support::log_capture kafka_log{"kafka"};
  support::debug_log kafka_debug{"kafka"};
  support::kafka_cluster kc;
  kc.create_topic("lines", 2);
  worker_node node{kc.bootstraps(), "120s"};
  run_batches(kc, {node.address()});
  // Every batch's two map tasks (one per Kafka partition) ran on the node.
  CHECK(tasks_on(log, node.address()) == 8);
  // The driver asked Kafka for each batch's offsets with a consumer of its
  // own; the node's copy of the stream, which asks for none, made none.
  auto lines = kafka_log.lines();
  CHECK(std::count_if(lines.begin(), lines.end(),
                      [](const std::string& line) {
                        return line.find("the driver's consumer connects")
                               != std::string::npos;
                      })
        == 1);
}

TEST_CASE("a worker node that cannot reach Kafka fails its map tasks, which "
          "run again elsewhere: the counts stay exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::kafka_cluster kc;
  kc.create_topic("lines", 2);
  // The node's program names a broker that is not there.
  auto nowhere = "127.0.0.1:" + std::to_string(support::free_port());
  worker_node node{nowhere, "1s"};
  run_batches(kc, {node.address()});
  // Had the records come with the stage, the node would have counted them.
  CHECK(log.contains("map tasks on the worker node " + node.address()
                     + " failed"));
}

TEST_CASE("a location strategy runs a Kafka partition's map tasks on the "
          "node it prefers, else where any task goes: the counts are exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  support::kafka_cluster kc;
  kc.create_topic("lines", 2);
  worker_node first{kc.bootstraps(), "120s"};
  worker_node second{kc.bootstraps(), "120s"};
  auto nodes = std::vector<std::string>{first.address(), second.address()};
  // Each node ran some of the 8 map tasks (2 per batch).
  auto check_spread = [&] {
    auto on_first = tasks_on(log, first.address());
    auto on_second = tasks_on(log, second.address());
    CHECK(on_first > 0);
    CHECK(on_second > 0);
    CHECK(on_first + on_second == 8);
  };
  SECTION("both partitions on the second node") {
    run_batches(kc, nodes,
                kafka::prefer_fixed({{{"lines", 0}, second.address()},
                                     {{"lines", 1}, second.address()}}));
    CHECK(tasks_on(log, first.address()) == 0);
    CHECK(tasks_on(log, second.address()) == 8);
  }
  SECTION("prefer_brokers: the mock's brokers are on the nodes' host, "
          "127.0.0.1, so each task prefers both nodes") {
    run_batches(kc, nodes, kafka::prefer_brokers());
    check_spread();
  }
  SECTION("a host where no node runs: as prefer_consistent, over both") {
    run_batches(kc, nodes,
                kafka::prefer_fixed({{{"lines", 0}, "10.255.0.1"},
                                     {{"lines", 1}, "10.255.0.1"}}));
    check_spread();
  }
}

TEST_CASE("with prefer_fixed, an action over a direct Kafka stream's records "
          "reads them on the node it names: the counts are exact",
          "[kafka][nodes]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  support::kafka_cluster kc;
  kc.create_topic("lines", 2);
  worker_node node{kc.bootstraps(), "120s", counting::in_output};
  run_batches(kc, {node.address()},
              kafka::prefer_fixed({{{"lines", 0}, node.address()},
                                   {{"lines", 1}, node.address()}}),
              counting::in_output);
  // Each batch's two partitions, read and turned into pairs on the node.
  CHECK(tasks_on(log, node.address(), "result") == 8);
}
