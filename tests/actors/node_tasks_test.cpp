#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf_stream/testing.hpp"

#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// Map tasks on worker nodes: the driver (this test) and two worker nodes
// (`state_node_child --words` processes) build the same word count graph.
// With `stream.task.placement = workers`, the driver sends the map stage of
// each batch's shuffle to the nodes with the batch's input; the buckets come
// back and the driver's reduce tasks read them.

namespace {

using count = test::word_graph::count;
using counts = std::map<std::string, int64_t>;

// The batches' lines: batch k gets `input[k - 1]`, in 4 partitions.
const std::vector<std::vector<std::string>> input{
  {"to be or not to be", "that is", "the question"},
  {"be be be", "", "or"},
  {"whether tis nobler", "in the mind", "to suffer", "the slings"},
  {"and arrows", "of outrageous fortune"},
  {"to be", "or not"}};

// Spark's semantics, sequentially: a batch's count of each word.
counts model(const std::vector<std::string>& lines) {
  counts result;
  for (const auto& line : lines) {
    std::istringstream words{line};
    for (std::string w; words >> w;)
      ++result[w];
  }
  return result;
}

// Each batch's counts, and the wait for a batch.
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

// Checks batches 1 to `last` against the model, and that none failed.
void check_counts(collected& out, size_t last) {
  for (size_t k = 1; k <= last; ++k)
    CHECK(out.of(static_cast<int64_t>(k)) == model(input[k - 1]));
  CHECK(out.failures().empty());
}

// A worker node process serving the word count graph.
struct worker_node {
  worker_node() : proc({CAF_STREAM_STATE_NODE_CHILD, "--words"}) {
    auto line = proc.read_line();
    REQUIRE(line.rfind("port ", 0) == 0);
    address = "127.0.0.1:" + line.substr(5);
  }

  support::child_process proc;
  std::string address;
};

// Logs the executor's debug lines (which name where map tasks ran) while
// it lives.
struct executor_debug_log {
  executor_debug_log() : logger(detail::logger("executor")) {
    level = logger->level();
    logger->set_level(spdlog::level::debug);
  }

  ~executor_debug_log() {
    logger->set_level(level);
  }

  std::shared_ptr<spdlog::logger> logger;
  spdlog::level::level_enum level;
};

// A driver under a manual clock whose map tasks go to `nodes`.
struct driver {
  // `timeout`: `stream.state-timeout`, which bounds a node's answer (and a
  // request lost with a killed node's connection).
  explicit driver(std::vector<std::string> nodes,
                  duration timeout = duration{10000})
    : clk(std::make_shared<testing::manual_clock>()),
      lines(std::make_shared<rdd_queue<std::string>>()),
      out(std::make_shared<collected>()) {
    auto opts = testing::default_test_options();
    opts.workers = 2;
    opts.state_nodes = std::move(nodes);
    opts.tasks = task_placement::workers;
    opts.state_timeout = timeout;
    // The nodes are another executable of the same application.
    opts.app_id = "state-node-tests";
    ssc = std::make_unique<streaming_context>(seconds(1), opts, clk);
    test::word_graph::build(*ssc, lines)
      .foreach_rdd([o = out](const rdd<count>& x, caf_stream::time t) {
        o->add(t, x.collect());
      });
    ssc->add_streaming_listener(out);
    ssc->start();
  }

  ~driver() {
    ssc->stop(false);
  }

  // Runs batch `k` (from 1) with its input.
  void run_batch(size_t k) {
    lines->push(parallelize(input[k - 1], 4));
    clk->advance(seconds(1));
    out->wait_for(k);
  }

  std::shared_ptr<testing::manual_clock> clk;
  std::shared_ptr<rdd_queue<std::string>> lines;
  std::shared_ptr<collected> out;
  std::unique_ptr<streaming_context> ssc;
};

} // namespace

TEST_CASE("map tasks run on two worker nodes and give the counts of one "
          "process",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  executor_debug_log debug;
  worker_node a;
  worker_node b;
  driver d{{a.address, b.address}};
  for (size_t k = 1; k <= input.size(); ++k)
    d.run_batch(k);
  check_counts(*d.out, input.size());
  // Each node ran 2 of the 4 map tasks of every batch.
  CHECK(log.contains("2 map tasks of stream 3 ran on the worker node "
                     + a.address));
  CHECK(log.contains("2 map tasks of stream 3 ran on the worker node "
                     + b.address));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("the map tasks of a killed worker node run again on the other "
          "node, and the counts stay exact",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  executor_debug_log debug;
  worker_node a;
  worker_node b;
  driver d{{a.address, b.address}};
  d.run_batch(1);
  d.run_batch(2);
  a.proc.kill();
  for (size_t k = 3; k <= input.size(); ++k)
    d.run_batch(k);
  check_counts(*d.out, input.size());
  CHECK(log.contains("map tasks on the worker node " + a.address
                     + " failed, they run again elsewhere"));
  // Batch 3's 4 map tasks: 2 on node b, then node a's 2 there too.
  CHECK(log.contains("batch 3000 ms: 2 map tasks of stream 3 ran on the "
                     "worker node " + b.address));
}

TEST_CASE("with every worker node gone, the driver runs the map tasks",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  worker_node a;
  driver d{{a.address}};
  d.run_batch(1);
  a.proc.kill();
  d.run_batch(2);
  check_counts(*d.out, 2);
  CHECK(log.contains("failed, they run again elsewhere"));
}

TEST_CASE("a frozen worker node's map tasks run on the other node after "
          "stream.state-timeout",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  executor_debug_log debug;
  worker_node a;
  worker_node b;
  driver d{{a.address, b.address}, duration{2000}};
  d.run_batch(1);
  a.proc.freeze();
  d.run_batch(2);
  d.run_batch(3);
  check_counts(*d.out, 3);
  CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                     + a.address + " failed, they run again elsewhere (the "
                     "node gets none for 5 s): no answer within "
                     "stream.state-timeout (2000 ms)"));
  // The frozen node rests: batch 3 does not wait for it again.
  CHECK(log.contains("batch 3000 ms: 4 map tasks of stream 3 ran on the "
                     "worker node " + b.address));
}
