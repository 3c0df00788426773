#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/local_actor.hpp"
#include "caf/send.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"
#include "support/node_child.hpp"
#include "support/ports.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// Map tasks on worker nodes: the driver (this test) and two worker nodes
// (`state_node_child --words` processes) build the same word count graph.
// With `stream.task.placement = workers`, the driver sends the map stage of
// each batch's shuffle to the nodes with the batch's input; the buckets come
// back and the driver's reduce tasks read them. The stateful graph
// (`--word-states`) adds a window and `map_with_state`, whose state lives on
// the nodes too.

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

// A word's count over batches `first` to `last` (from 1), sequentially.
counts model(size_t first, size_t last) {
  counts result;
  for (auto k = first; k <= last; ++k)
    for (const auto& [w, n] : model(input[k - 1]))
      result[w] += n;
  return result;
}

// The map tasks of stream 3 that ran on the worker node `node` in the
// batch at `t` ms, as the executor logged them: a node gets a stage's tasks
// in one send, or round by round (its task slots at a time) where the
// driver makes their input, as here.
int64_t map_tasks_ran(const support::log_capture& log, const std::string& t,
                      const std::string& node) {
  auto head = "batch " + t + " ms: ";
  auto tail = " map tasks of stream 3 ran on the worker node " + node;
  int64_t result = 0;
  for (const auto& line : log.lines()) {
    auto at = line.find(head);
    if (at == std::string::npos || line.find(tail) == std::string::npos)
      continue;
    result += std::stoll(line.substr(at + head.size()));
  }
  return result;
}

// Whether the executor logged that node `node` ran reduce tasks of stream 3
// whose records came as `how` ("with the answer", "fetched").
bool reduced_came(const support::log_capture& log, const std::string& node,
                  const std::string& how) {
  auto ran = " reduce tasks of stream 3 ran on the worker node " + node;
  for (const auto& line : log.lines())
    if (line.find(ran) != std::string::npos
        && line.find("bytes of records " + how) != std::string::npos)
      return true;
  return false;
}

// The outputs of the graphs.
enum class output { counts, windowed, totals };

// Each output's counts of each batch, and the wait for a batch.
class collected final : public support::batch_waiter {
public:
  void add(output o, caf_stream::time t, const std::vector<count>& xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& batch = counts_[{o, t.milliseconds() / 1000}];
    for (const auto& [w, n] : xs)
      batch[w] += n;
  }

  counts of(int64_t k, output o = output::counts) {
    std::lock_guard<std::mutex> guard{mtx_};
    return counts_[{o, k}];
  }

  // Adds what `x` holds to output `o`'s batch.
  auto collect(output o) {
    return [this, o](const rdd<count>& x, caf_stream::time t) {
      add(o, t, x.collect());
    };
  }

private:
  std::mutex mtx_;
  std::map<std::pair<output, int64_t>, counts> counts_;
};

// Checks batches 1 to `last` against the model, and that none failed.
void check_counts(collected& out, size_t last) {
  for (size_t k = 1; k <= last; ++k)
    CHECK(out.of(static_cast<int64_t>(k)) == model(input[k - 1]));
  CHECK(out.failures().empty());
}

// Checks every batch of the joined graph against the model: a word's pairs
// of occurrences, its count squared; and that none failed.
void check_squares(collected& out) {
  for (size_t k = 1; k <= input.size(); ++k) {
    auto squares = model(input[k - 1]);
    for (auto& [w, n] : squares)
      n *= n;
    CHECK(out.of(static_cast<int64_t>(k)) == squares);
  }
  CHECK(out.failures().empty());
}

// A worker node process serving the word count graph; `flags` as
// `state_node_child` takes them ("--word-states": the stateful graph).
struct worker_node : support::node_child {
  explicit worker_node(std::vector<std::string> flags = {"--words"})
    : node_child(std::move(flags)) {
    // nop
  }
};

// The options of a driver whose map tasks go to `nodes`, whose
// `stream.state-timeout` (10 s) bounds a node's answer (and a request lost
// with a killed node's connection).
stream_options driver_options(std::vector<std::string> nodes) {
  auto opts = testing::default_test_options();
  opts.workers = 2;
  opts.state_nodes = std::move(nodes);
  opts.tasks = task_placement::workers;
  opts.state_timeout = duration{10000};
  // The nodes are another executable of the same application.
  opts.app_id = "state-node-tests";
  return opts;
}

// The graphs of `word_graph` a driver runs.
enum class graph { counts, stateful, joined, mixed, moved };

// A driver under a manual clock with graph `g`.
struct driver {
  explicit driver(const stream_options& opts, graph g = graph::counts)
    : clk(std::make_shared<testing::manual_clock>()),
      lines(std::make_shared<rdd_queue<std::string>>()),
      out(std::make_shared<collected>()) {
    ssc = std::make_unique<streaming_context>(seconds(1), opts, clk);
    if (g == graph::stateful) {
      ssc->checkpoint(dir.path());
      auto s = test::word_graph::build_stateful(*ssc, lines);
      s.windowed.foreach_rdd(out->collect(output::windowed));
      s.totals.foreach_rdd(out->collect(output::totals));
    } else if (g == graph::joined) {
      test::word_graph::build_joined(*ssc, lines)
        .foreach_rdd(out->collect(output::counts));
    } else if (g == graph::mixed) {
      test::word_graph::build_mixed(*ssc, lines)
        .foreach_rdd(out->collect(output::counts));
    } else if (g == graph::moved) {
      test::word_graph::build_moved(*ssc, lines)
        .foreach_rdd(out->collect(output::counts));
    } else {
      test::word_graph::build(*ssc, lines)
        .foreach_rdd(out->collect(output::counts));
    }
    ssc->add_streaming_listener(out);
    ssc->start();
  }

  ~driver() {
    ssc->stop(false);
  }

  // Runs batch `k` (from 1) with its input.
  void run_batch(size_t k) {
    start_batch(k);
    out->wait_for(k);
  }

  // Runs batches `first` to `last` (from 1) with their input.
  void run_batches(size_t first, size_t last) {
    for (auto k = first; k <= last; ++k)
      run_batch(k);
  }

  // Starts batch `k` (from 1) with its input.
  void start_batch(size_t k) {
    lines->push(parallelize(input[k - 1], partitions));
    clk->advance(seconds(1));
  }

  // The partitions of each batch's lines.
  size_t partitions = 4;

  testing::temporary_directory dir;
  std::shared_ptr<testing::manual_clock> clk;
  std::shared_ptr<rdd_queue<std::string>> lines;
  std::shared_ptr<collected> out;
  std::unique_ptr<streaming_context> ssc;
};

// Runs every batch of graph `g` on two worker nodes started with `flag`
// and checks the output (`check(collected&)`), and that the executor
// logged each of `tasks` ("map tasks of stream 3") as run on both nodes,
// and none run on the driver or again elsewhere.
template <class Check>
void check_on_two_nodes(graph g, const std::string& flag, Check check,
                        const std::vector<std::string>& tasks) {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  worker_node a{{flag}};
  worker_node b{{flag}};
  driver d{driver_options({a.address, b.address}), g};
  d.run_batches(1, input.size());
  check(*d.out);
  for (const auto& node : {a.address, b.address})
    for (const auto& what : tasks)
      CHECK(log.contains(what + " ran on the worker node " + node));
  CHECK_FALSE(log.contains("run on the driver"));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

// Runs graph `g` (both nodes started with `flag`) and kills node a once
// the executor sent it map tasks of stream `stream` in batch 2: a stage
// whose tasks read an earlier shuffle's partitions, which went with them.
// Node a dies with them, or with their buckets: they run again on node b,
// and every batch's output passes `check(collected&)`.
template <class Check>
void check_killed_with_tasks(graph g, const std::string& flag, int stream,
                             Check check) {
  support::debug_log debug{"executor"};
  worker_node a{{flag}};
  worker_node b{{flag}};
  driver d{driver_options({a.address, b.address}), g};
  d.run_batch(1);
  // What the executor logs from batch 2 on.
  support::log_capture log{"executor"};
  d.start_batch(2);
  auto tasks = "map tasks of stream " + std::to_string(stream);
  REQUIRE(log.wait_for(tasks + " sent to the worker node " + a.address));
  a.proc.kill();
  d.out->wait_for(2);
  d.run_batches(3, input.size());
  check(*d.out);
  CHECK(log.contains(tasks + " ran on the worker node " + b.address));
}

// Two worker nodes, and the executor's log with its debug lines (which
// name where map tasks ran).
struct two_nodes {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  worker_node a;
  worker_node b;

  // The driver's options with both nodes, whose late answers
  // (`stream.speculation`) are given up on long before
  // `stream.state-timeout`.
  stream_options speculating() const {
    auto opts = driver_options({a.address, b.address});
    opts.state_timeout = duration{60000};
    return opts;
  }

  // Freezes node a after batch 1 of a driver with `opts`, then runs
  // batches 2 and 3: the counts stay exact, batch 2 gives node a's tasks
  // to node b as the executor logs after the node's address (`what`), and
  // batch 3 runs all 4 on node b (node a rests).
  void check_frozen_a(const stream_options& opts, const std::string& what) {
    driver d{opts};
    d.run_batch(1);
    a.proc.freeze();
    d.run_batch(2);
    d.run_batch(3);
    check_counts(*d.out, 3);
    CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                       + a.address + what));
    CHECK(map_tasks_ran(log, "3000", b.address) == 4);
  }

  // Runs the word count without speculation (a node dies with its tasks,
  // it is not given up as late first), node a frozen in batch 2 until the
  // executor logged `line`; then `fault()` strikes. The counts stay exact.
  template <class Fault>
  void check_fault_in_batch_2(const std::string& line, Fault fault) {
    auto opts = driver_options({a.address, b.address});
    opts.speculation = false;
    driver d{opts};
    d.run_batch(1);
    a.proc.freeze();
    d.start_batch(2);
    REQUIRE(log.wait_for(line));
    fault();
    d.out->wait_for(2);
    d.run_batches(3, input.size());
    check_counts(*d.out, input.size());
  }

  // `check_fault_in_batch_2` once node b ran its map tasks, whose buckets
  // wait there for the reduce tasks that node a holds back: `fault()`
  // strikes node b, and node a goes on.
  template <class Fault>
  void check_fault_before_reduce(Fault fault) {
    check_fault_in_batch_2("batch 2000 ms: 2 map tasks of stream 3 ran on "
                           "the worker node " + b.address
                             + " (their buckets stay there)",
                           [&] {
                             fault();
                             a.proc.resume();
                           });
  }
};

} // namespace

TEST_CASE_METHOD(two_nodes,
                 "map tasks run on two worker nodes and give the counts of one "
                 "process",
                 "[actors][nodes][tasks]") {
  driver d{driver_options({a.address, b.address})};
  d.run_batches(1, input.size());
  check_counts(*d.out, input.size());
  // Each node ran 2 of the 4 map tasks of every batch.
  CHECK(log.contains("2 map tasks of stream 3 ran on the worker node "
                     + a.address));
  CHECK(log.contains("2 map tasks of stream 3 ran on the worker node "
                     + b.address));
  // The 3 reduce tasks ran on the nodes too, which fetched the buckets
  // from each other: the driver got the reduced records, a few bytes that
  // came with each node's answer.
  for (const auto& node : {a.address, b.address})
    CHECK(reduced_came(log, node, "with the answer"));
  CHECK_FALSE(log.contains("bytes of records fetched"));
  CHECK_FALSE(log.contains("run on the driver"));
  CHECK_FALSE(log.contains("run again elsewhere"));
  // The listeners saw the nodes as executors, and the tasks each ran: of
  // each batch's 4 map tasks and 3 reduce tasks, a node ran its 2 map
  // tasks and its share of the reduce tasks.
  CHECK(d.out->executors()
        == std::vector<std::string>{"+driver", "+" + a.address,
                                    "+" + b.address});
  auto tasks = d.out->tasks();
  auto batches = static_cast<int64_t>(input.size());
  CHECK(tasks[a.address].completed + tasks[b.address].completed
        == batches * (4 + 3));
  CHECK(tasks[a.address].completed >= batches * 2);
  CHECK(tasks[b.address].completed >= batches * 2);
  CHECK(tasks[a.address].failed + tasks[b.address].failed == 0);
}

namespace {

// Two worker nodes with `slots_a` and `slots_b` task slots, and the
// executor's log with its debug lines.
struct nodes_with_slots {
  nodes_with_slots(int slots_a, int slots_b)
    : a({"--words", "--slots=" + std::to_string(slots_a)}),
      b({"--words", "--slots=" + std::to_string(slots_b)}) {
    // nop
  }

  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  worker_node a;
  worker_node b;
};

} // namespace

TEST_CASE("a stage's map tasks go to the worker nodes in proportion to "
          "their task slots",
          "[actors][nodes][tasks]") {
  nodes_with_slots n{1, 3};
  auto& [log, debug, a, b] = n;
  driver d{driver_options({a.address, b.address})};
  d.run_batches(1, input.size());
  check_counts(*d.out, input.size());
  // The driver asked each node for its slots when it first reached it,
  // before the first stage: node a runs 1 of the 4 map tasks and node b 3,
  // and of the 3 reduce tasks 1 and 2.
  for (std::string t : {"1000", "2000", "3000"}) {
    CHECK(log.contains("batch " + t + " ms: 1 map tasks of stream 3 ran on "
                       "the worker node " + a.address));
    CHECK(log.contains("batch " + t + " ms: 3 map tasks of stream 3 ran on "
                       "the worker node " + b.address));
    CHECK(log.contains("batch " + t + " ms: 1 reduce tasks of stream 3 ran "
                       "on the worker node " + a.address));
    CHECK(log.contains("batch " + t + " ms: 2 reduce tasks of stream 3 ran "
                       "on the worker node " + b.address));
  }
}

TEST_CASE("a stage's tasks beyond two rounds a node go to the node that "
          "answers a round first",
          "[actors][nodes][tasks]") {
  nodes_with_slots n{1, 1};
  auto& [log, debug, a, b] = n;
  driver d{driver_options({a.address, b.address})};
  // 12 map tasks a batch: 2 rounds of 1 to each node, the other 8 to
  // whichever answers.
  d.partitions = 12;
  d.run_batches(1, input.size());
  check_counts(*d.out, input.size());
  for (size_t k = 1; k <= input.size(); ++k) {
    auto t = std::to_string(k * 1000);
    auto on_a = map_tasks_ran(log, t, a.address);
    auto on_b = map_tasks_ran(log, t, b.address);
    CHECK(on_a + on_b == 12);
    CHECK(on_a >= 2);
    CHECK(on_b >= 2);
  }
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE_METHOD(two_nodes,
                 "the map tasks of a killed worker node run again on the other "
                 "node, and the counts stay exact",
                 "[actors][nodes][tasks]") {
  driver d{driver_options({a.address, b.address})};
  d.run_batch(1);
  d.run_batch(2);
  a.proc.kill();
  d.run_batches(3, input.size());
  check_counts(*d.out, input.size());
  CHECK(log.contains("map tasks on the worker node " + a.address
                     + " failed, they run again elsewhere"));
  // Batch 3's 4 map tasks ran on node b: all there if the driver noticed
  // node a's loss before the stage, else node a's 2 after node b's.
  CHECK(map_tasks_ran(log, "3000", b.address) == 4);
  // The listeners saw node a removed once the driver lost it, and the
  // tasks node a ran before.
  CHECK(d.out->executors()
        == std::vector<std::string>{"+driver", "+" + a.address,
                                    "+" + b.address, "-" + a.address});
  CHECK(d.out->tasks()[a.address].completed >= 2 * 2);
}

TEST_CASE_METHOD(two_nodes,
                 "the map tasks of a worker node killed while it holds them "
                 "run again on the other node, and the counts stay exact",
                 "[actors][nodes][tasks]") {
  // Frozen, node a takes batch 2's tasks and does not answer; it dies with
  // them.
  check_fault_in_batch_2("batch 2000 ms: 2 map tasks of stream 3 sent to the "
                         "worker node " + a.address,
                         [&] { a.proc.kill(); });
  CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                     + a.address + " failed, they run again elsewhere"));
  CHECK(log.contains("the node was lost"));
  CHECK(map_tasks_ran(log, "3000", b.address) == 4);
}

TEST_CASE_METHOD(two_nodes,
                 "the buckets of a worker node killed before the reduce tasks "
                 "ran are computed again on the other node",
                 "[actors][nodes][tasks]") {
  // Node b dies with its buckets.
  check_fault_before_reduce([&] {
    b.proc.kill();
    REQUIRE(log.wait_for("batch 2000 ms: map tasks on the worker node "
                         + b.address + " failed, they run again elsewhere"));
  });
  CHECK(log.contains("the node was lost"));
  // Node b's map tasks ran again on node a, which then ran all 3 reduce
  // tasks.
  CHECK(log.contains("batch 2000 ms: 3 reduce tasks of stream 3 ran on the "
                     "worker node " + a.address));
  CHECK_FALSE(log.contains("run on the driver"));
}

TEST_CASE_METHOD(two_nodes,
                 "when a node that holds buckets freezes while the reduce tasks "
                 "run on the nodes, the driver reduces and the counts stay "
                 "exact",
                 "[actors][nodes][tasks]") {
  // Node b freezes too: the reduce tasks start with its buckets out of
  // reach, until the heartbeats give it up.
  check_fault_before_reduce([&] { b.proc.freeze(); });
  // Node a's reduce tasks failed fetching node b's buckets.
  CHECK(log.contains("batch 2000 ms: the reduce tasks of stream 3 run on the "
                     "driver: the worker node " + a.address + " failed: "
                     "fetching the buckets of the reduce tasks: the worker "
                     "node " + b.address + " was lost"));
  CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                     + b.address + " failed, they run again elsewhere"));
}

TEST_CASE("with every worker node gone, the driver runs the map tasks",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  worker_node a;
  driver d{driver_options({a.address})};
  d.run_batch(1);
  a.proc.kill();
  d.run_batch(2);
  check_counts(*d.out, 2);
  CHECK(log.contains("failed, they run again elsewhere"));
}

TEST_CASE_METHOD(two_nodes,
                 "a frozen worker node's map tasks run on the other node after "
                 "stream.state-timeout",
                 "[actors][nodes][tasks]") {
  auto opts = driver_options({a.address, b.address});
  opts.state_timeout = duration{2000};
  opts.speculation = false;
  check_frozen_a(opts, " failed, they run again elsewhere (the node gets "
                       "none for 5 s): no answer within stream.state-timeout "
                       "(2000 ms)");
}

TEST_CASE_METHOD(two_nodes,
                 "a frozen worker node's map tasks run on the other node once "
                 "its answer is late, long before stream.state-timeout",
                 "[actors][nodes][tasks]") {
  // Node b answers batch 2's tasks; node a's answer is late after 500 ms
  // (stream.speculation.min-task-runtime), not 60 s.
  check_frozen_a(speculating(), " run again elsewhere (the node gets none "
                                "for 5 s): its answer is late");
}

TEST_CASE_METHOD(two_nodes,
                 "a worker node given up on as late that answers after all "
                 "gets tasks again at once",
                 "[actors][nodes][tasks]") {
  driver d{speculating()};
  d.run_batch(1);
  // Node a is slow in batch 2: frozen until its tasks ran on node b, then
  // resumed, long before the heartbeats would drop it.
  a.proc.freeze();
  d.run_batch(2);
  a.proc.resume();
  REQUIRE(log.wait_for("the worker node " + a.address + " answered the "
                       "tasks it was given up on as late"));
  d.run_batches(3, input.size());
  check_counts(*d.out, input.size());
  CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                     + a.address + " run again elsewhere"));
  // Not 5 s of rest as a failed node: batch 3's tasks are shared again.
  CHECK(log.contains("batch 3000 ms: 2 map tasks of stream 3 ran on the "
                     "worker node " + a.address));
}

TEST_CASE_METHOD(two_nodes,
                 "a worker node given up on as late whose answer comes before "
                 "its tasks' copies answer has its answer taken",
                 "[actors][nodes][tasks]") {
  // Node a is given up on 3 s after batch 2's tasks went out, not 500 ms:
  // time for this test to freeze node b first, even on a loaded machine.
  auto opts = speculating();
  opts.speculation_min_task_runtime = duration{3000};
  driver d{opts};
  d.run_batch(1);
  a.proc.freeze();
  d.start_batch(2);
  // Node b answers its share of batch 2, then freezes: the copies of node
  // a's tasks, which go to node b, wait there.
  REQUIRE(log.wait_for("batch 2000 ms: 2 map tasks of stream 3 ran on the "
                       "worker node " + b.address
                       + " (their buckets stay there)"));
  b.proc.freeze();
  REQUIRE(log.wait_for("batch 2000 ms: map tasks on the worker node "
                       + a.address + " run again elsewhere"));
  a.proc.resume();
  REQUIRE(log.wait_for("batch 2000 ms: the worker node " + a.address
                       + " answered its 2 map tasks before their copies"));
  // Node b holds buckets that the reduce tasks read.
  b.proc.resume();
  d.out->wait_for(2);
  d.run_batches(3, input.size());
  check_counts(*d.out, input.size());
  CHECK_FALSE(log.contains("run on the driver"));
  CHECK_FALSE(log.contains("failed"));
  // Node a does not rest: batch 3's tasks are shared again.
  CHECK(log.contains("batch 3000 ms: 2 map tasks of stream 3 ran on the "
                     "worker node " + a.address));
}

TEST_CASE("a windowed count and map_with_state's running totals with two "
          "worker nodes give the output of one process",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  support::log_capture state_log{"scheduler"};
  support::debug_log debug{"executor"};
  worker_node a{{"--word-states"}};
  worker_node b{{"--word-states"}};
  driver d{driver_options({a.address, b.address}), graph::stateful};
  for (size_t k = 1; k <= input.size(); ++k) {
    d.run_batch(k);
    auto i = static_cast<int64_t>(k);
    CHECK(d.out->of(i, output::windowed) == model(k > 2 ? k - 2 : 1, k));
    CHECK(d.out->of(i, output::totals) == model(1, k));
  }
  CHECK(d.out->failures().empty());
  // The map stages of the window's per-batch counts (stream 3) and of
  // map_with_state's shuffle of the words by key (stream 6) ran on both
  // nodes; the state's partitions live there.
  for (const auto& node : {a.address, b.address}) {
    CHECK(log.contains("map tasks of stream 3 ran on the worker node "
                       + node));
    CHECK(log.contains("map tasks of stream 6 ran on the worker node "
                       + node));
    CHECK(state_log.contains("holder on " + node));
  }
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("a join's map and reduce tasks run on two worker nodes, which "
          "fetch each other's buckets, and so do those of the count after "
          "it, and give the output of one process",
          "[actors][nodes][tasks]") {
  // The join (stream 3): its 8 map tasks (4 partitions on each side) and
  // its 3 reduce tasks on both nodes. The count after it (stream 5): its 3
  // map tasks read the join's partitions, which went to the nodes with
  // them, and its 3 reduce tasks, on both nodes too.
  check_on_two_nodes(graph::joined, "--word-joins", check_squares,
                     {"map tasks of stream 3", "reduce tasks of stream 3",
                      "map tasks of stream 5", "reduce tasks of stream 5"});
}

TEST_CASE("a join of the counts with the words runs its map tasks, which "
          "read a shuffle's partitions and the input's, and its reduce "
          "tasks on two worker nodes, and gives the output of one process",
          "[actors][nodes][tasks]") {
  // The counts (stream 3), and the join (stream 4): its 6 map tasks (2
  // read the counts' partitions, 4 the batch's lines) and its 3 reduce
  // tasks, on both nodes.
  check_on_two_nodes(graph::mixed, "--word-mixed", check_squares,
                     {"map tasks of stream 3", "map tasks of stream 4",
                      "reduce tasks of stream 4"});
}

TEST_CASE("the count after a repartition runs its map and reduce tasks "
          "on two worker nodes, from the repartitioned words, and gives "
          "the counts of one process",
          "[actors][nodes][tasks]") {
  // The repartition (stream 2): its 4 map tasks on both nodes; the driver
  // reads its buckets. The count (stream 4): its 2 map tasks read the
  // repartition's partitions, which went to the nodes with them, and its 3
  // reduce tasks, on both nodes too.
  check_on_two_nodes(
    graph::moved, "--word-moves",
    [](collected& out) { check_counts(out, input.size()); },
    {"map tasks of stream 2", "map tasks of stream 4",
     "reduce tasks of stream 4"});
}

TEST_CASE("a worker node killed once the count after a join sent it map "
          "tasks: they run again on the other node, exact",
          "[actors][nodes][tasks]") {
  check_killed_with_tasks(graph::joined, "--word-joins", 5, check_squares);
}

TEST_CASE("a worker node killed once the join of the counts with the "
          "words sent it map tasks: they run again on the other node, with "
          "the partitions they read, exact",
          "[actors][nodes][tasks]") {
  check_killed_with_tasks(graph::mixed, "--word-mixed", 4, check_squares);
}

TEST_CASE("a worker node killed once the count after a repartition sent "
          "it map tasks: they run again on the other node, with the "
          "repartition's partitions they read, exact",
          "[actors][nodes][tasks]") {
  check_killed_with_tasks(
    graph::moved, "--word-moves", 4,
    [](collected& out) { check_counts(out, input.size()); });
}

TEST_CASE("a worker node that joins at run time gets map tasks from the "
          "next batch on, and none once it left",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  support::log_capture nodes{"nodes"};
  support::debug_log debug{"executor"};
  auto [d, port] = support::make_on_free_port([&](uint16_t free) {
    auto opts = driver_options({});
    opts.driver_port = free;
    return std::make_unique<driver>(opts);
  });
  // No node yet: the driver runs the tasks.
  d->run_batch(1);
  CHECK_FALSE(log.contains("ran on the worker node"));
  worker_node a{{"--words", "--driver=127.0.0.1:" + std::to_string(port)}};
  REQUIRE(a.proc.read_line() == "joined");
  REQUIRE(nodes.wait_for("the worker node " + a.address + " joined"));
  d->run_batch(2);
  d->run_batch(3);
  CHECK(map_tasks_ran(log, "2000", a.address) == 4);
  CHECK(map_tasks_ran(log, "3000", a.address) == 4);
  // It stops gracefully: it leaves, and the driver runs the tasks again.
  a.proc.write_line("stop");
  CHECK(a.proc.wait() == 0);
  REQUIRE(nodes.wait_for("the worker node " + a.address + " left"));
  d->run_batch(4);
  d->run_batch(5);
  CHECK_FALSE(log.contains("batch 4000 ms: 4 map tasks"));
  CHECK_FALSE(log.contains("batch 5000 ms: 4 map tasks"));
  check_counts(*d->out, input.size());
  CHECK_FALSE(log.contains("run again elsewhere"));
  // The listeners heard of the node as it got tasks and as it left,
  // although no stage waited for it since.
  CHECK(d->out->executors()
        == std::vector<std::string>{"+driver", "+" + a.address,
                                    "-" + a.address});
  CHECK(d->out->tasks()[a.address].completed >= 2 * 4);
}

TEST_CASE("the driver fetches a node's reduced records in chunks, within "
          "the bytes in flight, where they do not fit in the node's chunk",
          "[actors][nodes][tasks]") {
  // A few bytes per fetch: every node's reduced records take several, and
  // the nodes fetch each other's buckets 7 bytes at a time too.
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  worker_node a{{"--words", "--fetch-chunk=7"}};
  worker_node b{{"--words", "--fetch-chunk=7"}};
  auto opts = driver_options({a.address, b.address});
  opts.shuffle_fetch_chunk = 7;
  opts.shuffle_max_in_flight = 20;
  driver d{opts};
  d.run_batches(1, input.size());
  check_counts(*d.out, input.size());
  for (const auto& node : {a.address, b.address})
    CHECK(reduced_came(log, node, "fetched"));
  CHECK_FALSE(log.contains("with the answer"));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("a worker node connects again to a node whose connection broke "
          "while it was frozen, to fetch its buckets",
          "[actors][nodes][tasks]") {
  worker_node a{{"--words", "--log=node"}};
  worker_node b{{"--words", "--log=node"}};
  // The node whose address sorts first connects to the other for its
  // buckets (`task_host::fetch_buckets`).
  auto& first = a.address < b.address ? a : b;
  auto& second = a.address < b.address ? b : a;
  auto connected = "connected to the worker node " + second.address
                   + " for its buckets";
  {
    driver d{driver_options({a.address, b.address})};
    d.run_batch(1);
    check_counts(*d.out, 1);
  }
  REQUIRE(first.wait_for_line(connected));
  // Frozen until the first node's heartbeats gave up on their connection
  // (`middleman.connection-timeout`, 5 s), then resumed: the process lives
  // on, the connection does not.
  second.proc.freeze();
  REQUIRE(first.wait_for_line("lost the connection to the worker node "
                              + second.address));
  second.proc.resume();
  // A new driver's batches: the first node connects again for the buckets
  // rather than keep fetching through the driver.
  driver d{driver_options({a.address, b.address})};
  d.run_batches(1, input.size());
  check_counts(*d.out, input.size());
  CHECK(first.wait_for_line(connected));
}

namespace {

// The actor of `sys` named `name` that another actor system knows of (CAF
// keeps an actor in its registry once its handle left the system), if any.
caf::actor known_actor(caf::actor_system& sys, const std::string& name) {
  for (caf::actor_id id = 1; id < 10000; ++id) {
    auto ptr = sys.registry().get(id);
    if (!ptr)
      continue;
    auto x = dynamic_cast<caf::local_actor*>(
      caf::actor_cast<caf::abstract_actor*>(ptr));
    if (x != nullptr && name == x->name())
      return caf::actor_cast<caf::actor>(ptr);
  }
  return caf::actor{};
}

} // namespace

TEST_CASE("a stage sent to a worker node's task host that went down by "
          "itself fails at once: its tasks run again, exact",
          "[actors][nodes][tasks]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  // The worker node, on an actor system of its own in this process, whose
  // task host the test can reach.
  stream_config cfg;
  cfg.set("stream.app-id", driver_options({}).app_id);
  cfg.set("stream.workers", size_t{2});
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  streaming_context node{sys, seconds(1),
                         std::make_shared<testing::manual_clock>()};
  test::word_graph::build(node, std::make_shared<rdd_queue<std::string>>())
    .foreach_rdd([](const rdd<count>&) {});
  auto address = "127.0.0.1:" + std::to_string(node.serve(0));
  // Without speculation and with an hour of `stream.state-timeout`, only
  // the host's down message can end a stage sent to it.
  auto opts = driver_options({address});
  opts.speculation = false;
  opts.state_timeout = duration{3600 * 1000};
  driver d{opts};
  d.run_batch(1);
  CHECK(map_tasks_ran(log, "1000", address) == 4);
  // The task host answered the driver, which sends it the next stages.
  auto host = known_actor(sys, "caf_stream.task_host");
  REQUIRE(host);
  caf::anon_send_exit(host, caf::exit_reason::kill);
  d.run_batches(2, input.size());
  check_counts(*d.out, input.size());
  // The only node rests after the failure: the driver ran the tasks.
  CHECK(log.contains("batch 2000 ms: map tasks on the worker node "
                     + address + " failed"));
  CHECK(log.contains("its task host is down"));
}
