#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/config_value.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing.hpp"

#include "support/acked_source.hpp"
#include "support/batch_waiter.hpp"
#include "support/certificates.hpp"
#include "support/log_capture.hpp"
#include "support/node_child.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// Blocks that stay on the worker node whose receiver sealed them
// (`stream.task.placement = workers`): the driver (this test) and a worker
// node (`state_node_child --receiver-sums`) build the same graph
// (`support::acked_sums`), whose receiver reads a reliable source
// (`support::acked_source`) on the node. With replication 1 the driver's
// tracker gets each block's number and count only: the driver's own output
// fetches the records from the node, and the shuffle's map tasks go to the
// node, without the records. With replication 2 and a second node, the
// block's copy is on that node, and the tracker still gets no records. An
// output of a stream computed from the blocks (`support::acked_filtered`)
// has the node that keeps them compute its partitions (a result stage).

namespace {

using support::residue_sum;

// The numbers and sums the batches got.
class results final : public support::batch_waiter {
public:
  void add_numbers(const std::vector<int64_t>& xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    numbers_.insert(numbers_.end(), xs.begin(), xs.end());
  }

  void add_sums(const std::vector<residue_sum>& xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& [residue, sum] : xs)
      sums_[residue] += sum;
  }

  // Every number of every batch, sorted (a number twice shows).
  std::vector<int64_t> numbers() {
    std::lock_guard<std::mutex> guard{mtx_};
    auto result = numbers_;
    std::sort(result.begin(), result.end());
    return result;
  }

  std::map<int64_t, int64_t> sums() {
    std::lock_guard<std::mutex> guard{mtx_};
    return sums_;
  }

  // A batch's first 3 numbers (`take(3)`), how many it has (`count`), and
  // all of them in order (`collect`).
  void add_actions(const std::vector<int64_t>& first, int64_t count,
                   const std::vector<int64_t>& all) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto n = std::min<size_t>(3, all.size());
    if (first != std::vector<int64_t>(all.begin(), all.begin() + n)
        || count != static_cast<int64_t>(all.size()))
      ++wrong_actions_;
  }

  // The batches whose first numbers or count were not those of all of
  // their numbers.
  size_t wrong_actions() {
    std::lock_guard<std::mutex> guard{mtx_};
    return wrong_actions_;
  }

private:
  std::mutex mtx_;
  std::vector<int64_t> numbers_;
  std::map<int64_t, int64_t> sums_;
  size_t wrong_actions_ = 0;
};

// Which of the kept block tests' graphs runs.
enum class graph { sums, windows, filtered };

// A worker node process serving a kept block graph for `source`, with
// `flags` as `state_node_child` takes them besides.
struct worker_node : support::node_child {
  explicit worker_node(const support::acked_source& source,
                       graph g = graph::sums,
                       std::vector<std::string> flags = {})
    : node_child(with_graph(source, g, std::move(flags))) {
    // nop
  }

  static std::vector<std::string>
  with_graph(const support::acked_source& source, graph g,
             std::vector<std::string> flags) {
    auto name = g == graph::sums      ? "--receiver-sums="
                : g == graph::windows ? "--receiver-windows="
                                      : "--receiver-filtered=";
    flags.push_back(name + std::to_string(source.port()));
    return flags;
  }
};

// A driver under a manual clock whose receiver and map tasks go to
// `nodes`, with `replication` copies of each block; with `tls` ("DIR/NAME",
// `support::certificates`) it talks TLS only, presenting that certificate.
struct driver {
  driver(std::vector<std::string> nodes, const support::acked_source& source,
         graph g = graph::sums, size_t replication = 1,
         const std::string& tls = {})
    : clk(std::make_shared<testing::manual_clock>()),
      out(std::make_shared<results>()) {
    if (tls.empty()) {
      auto opts = testing::default_test_options();
      opts.state_nodes = std::move(nodes);
      opts.receiver_replication = replication;
      opts.tasks = task_placement::workers;
      opts.app_id = "state-node-tests";
      ssc = std::make_unique<streaming_context>(seconds(1), opts, clk);
    } else {
      caf::config_value::list addresses;
      for (const auto& x : nodes)
        addresses.emplace_back(x);
      caf::put(cfg.content, "stream.nodes", std::move(addresses));
      caf::put(cfg.content, "stream.receiver.replication", replication);
      caf::put(cfg.content, "stream.task.placement", "workers");
      caf::put(cfg.content, "stream.app-id", "state-node-tests");
      caf::put(cfg.content, "stream.workers", size_t{2});
      caf::put(cfg.content, "stream.default-parallelism", size_t{2});
      caf::put(cfg.content, "stream.ui.enabled", false);
      support::use_certificate(cfg, tls);
      load_node_modules(cfg);
      sys = std::make_unique<caf::actor_system>(cfg);
      ssc = std::make_unique<streaming_context>(*sys, seconds(1), clk);
    }
    auto numbers = [o = out](const rdd<int64_t>& x) {
      o->add_numbers(x.collect());
    };
    if (g == graph::sums)
      support::acked_sums(
        *ssc, source.port(), numbers,
        [o = out](const rdd<residue_sum>& x) { o->add_sums(x.collect()); });
    else if (g == graph::windows)
      support::acked_windows(*ssc, source.port(), numbers);
    else
      support::acked_filtered(*ssc, source.port(),
                              [o = out](const rdd<int64_t>& x) {
                                auto first = x.take(3);
                                auto count = x.count();
                                auto all = x.collect();
                                o->add_numbers(all);
                                o->add_actions(first, count, all);
                              });
    ssc->add_streaming_listener(out);
    ssc->start();
  }

  ~driver() {
    ssc->stop(false);
  }

  // Cuts batches until the batches got `n` numbers; returns whether they
  // did.
  bool run_until(size_t n) {
    return support::cut_batches_until(
      *clk, *out, cut, [&] { return out->numbers().size() >= n; });
  }

  stream_config cfg;
  std::shared_ptr<testing::manual_clock> clk;
  std::shared_ptr<results> out;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<streaming_context> ssc;
  size_t cut = 0;
};

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> result;
  for (int64_t x = 0; x < n; ++x)
    result.push_back(x);
  return result;
}

// The sums of [0, n) by residue mod 4, one number at a time.
std::map<int64_t, int64_t> sums_model(int64_t n) {
  std::map<int64_t, int64_t> result;
  for (int64_t x = 0; x < n; ++x)
    result[x % 4] += x;
  return result;
}

// The multiples of 3 in [0, n), times 10.
std::vector<int64_t> filtered_model(int64_t n) {
  std::vector<int64_t> result;
  for (int64_t x = 0; x < n; x += 3)
    result.push_back(x * 10);
  return result;
}

// Two worker nodes serving graph `g` for `source` and a driver with
// replication 2 over both: the receiver runs on a, whose address sorts
// before b's (a connects to b; two nodes must not connect to each other at
// once), and copies each block to b.
struct copied_to_b {
  copied_to_b(const support::acked_source& source, graph g)
    : x(source, g, {"--log=receiver"}),
      y(source, g, {"--log=receiver"}),
      a(x.address < y.address ? x : y),
      b(&a == &x ? y : x),
      d({a.address, b.address}, source, g, 2) {
    REQUIRE(a.wait_for_line("receiver 0: its blocks' copies go to the "
                            "worker node " + b.address
                            + ", connected from here"));
  }

  worker_node x;
  worker_node y;
  worker_node& a;
  worker_node& b;
  driver d;
};

// How a test loses a worker node.
enum class loss { kill, stop };

// Loses `node` (SIGKILL, or a graceful stop), whose receiver acknowledged
// the first numbers of `source` (of 300), lets `source` send the rest, and
// checks that the batches got every number once, with their sums, and no
// batch failed.
void lose_and_run_the_rest(worker_node& node, loss how,
                           support::acked_source& source,
                           support::log_capture& log, driver& d) {
  if (how == loss::kill)
    node.proc.kill();
  else
    node.proc.write_line("stop");
  REQUIRE(log.wait_for("receiver 0: its node " + node.address
                       + " was lost"));
  source.release();
  REQUIRE(d.run_until(300));
  CHECK(d.out->numbers() == range(300));
  CHECK(d.out->sums() == sums_model(300));
  CHECK(d.out->failures().empty());
}

} // namespace

TEST_CASE("blocks stay on the worker node that received them: the driver "
          "fetches them, and the map tasks run where they are",
          "[receiver][nodes][blocks]") {
  support::debug_log debug{"executor"};
  support::log_capture log{"executor"};
  support::log_capture receivers{"receiver"};
  support::acked_source source{300, 10, 300};
  worker_node node{source};
  driver d{{node.address}, source};
  REQUIRE(d.run_until(300));
  // Every number once, and the sums of the same numbers.
  CHECK(d.out->numbers() == range(300));
  CHECK(d.out->sums() == sums_model(300));
  CHECK(d.out->failures().empty());
  CHECK(receivers.contains("receiver 0 runs on the worker node "
                           + node.address));
  // The node got the map tasks, and not the records, which it keeps.
  CHECK(log.contains("map tasks of stream 2 sent to the worker node "
                     + node.address + " (0 bytes of input)"));
  CHECK(log.contains("map tasks of stream 2 ran on the worker node "
                     + node.address));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("an output of a stream computed from kept blocks has the worker "
          "node that keeps them compute its partitions, those take scans "
          "only: the blocks stay there",
          "[receiver][nodes][blocks]") {
  support::debug_log debug{"executor"};
  support::debug_log fetches{"receiver"};
  support::log_capture log{"executor"};
  support::log_capture receivers{"receiver"};
  support::acked_source source{300, 10, 300};
  worker_node node{source, graph::filtered};
  driver d{{node.address}, source, graph::filtered};
  REQUIRE(d.run_until(100));
  CHECK(d.out->numbers() == filtered_model(300));
  CHECK(d.out->wrong_actions() == 0);
  CHECK(d.out->failures().empty());
  // Stream 2 (the map) is the output's: its tasks went to the node without
  // records, and only their records came back (for `take(3)`, of the
  // partitions it scanned), or for `count` their numbers.
  CHECK(log.contains("result tasks of stream 2 sent to the worker node "
                     + node.address + " (0 bytes of input)"));
  CHECK(log.contains("result tasks of stream 2 ran on the worker node "
                     + node.address));
  CHECK(log.contains("count tasks of stream 2 ran on the worker node "
                     + node.address));
  CHECK_FALSE(receivers.contains("fetched block"));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("with replication 2, the partitions of a killed worker's blocks "
          "are computed on the worker that keeps their copies",
          "[receiver][nodes][blocks]") {
  support::debug_log debug{"executor"};
  support::log_capture log{"executor"};
  support::log_capture receivers{"receiver"};
  support::acked_source source{300, 10, 100};
  copied_to_b c{source, graph::filtered};
  // Node a stored and acknowledged 0-99, each block copied to node b; no
  // batch was cut.
  support::wait_acked_on(c.a, source, receivers, 100);
  c.a.proc.kill();
  REQUIRE(receivers.wait_for("receiver 0: its node " + c.a.address
                             + " was lost"));
  source.release();
  REQUIRE(c.d.run_until(100));
  CHECK(c.d.out->numbers() == filtered_model(300));
  CHECK(c.d.out->wrong_actions() == 0);
  CHECK(c.d.out->failures().empty());
  CHECK(log.contains("result tasks on the worker node " + c.a.address
                     + " failed, they run again elsewhere"));
  CHECK(log.contains("result tasks of stream 2 ran on the worker node "
                     + c.b.address));
}

TEST_CASE("with replication 2, a batch's map tasks run on the worker that "
          "keeps its blocks and on the worker that keeps their copies",
          "[receiver][nodes][blocks]") {
  support::debug_log debug{"executor"};
  support::log_capture log{"executor"};
  support::log_capture receivers{"receiver"};
  support::acked_source source{300, 10, 300};
  copied_to_b c{source, graph::sums};
  // Node a stored all 30 blocks, each copied to node b, before the first
  // batch: their map tasks are shared out, 15 each.
  support::wait_acked_on(c.a, source, receivers, 300);
  REQUIRE(c.d.run_until(300));
  CHECK(c.d.out->numbers() == range(300));
  CHECK(c.d.out->sums() == sums_model(300));
  CHECK(c.d.out->failures().empty());
  CHECK(log.contains("batch 1000 ms: 15 map tasks of stream 2 ran on the "
                     "worker node " + c.a.address));
  CHECK(log.contains("batch 1000 ms: 15 map tasks of stream 2 ran on the "
                     "worker node " + c.b.address));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("a worker that stops gracefully hands the blocks it keeps to the "
          "driver with their records",
          "[receiver][nodes][blocks]") {
  support::log_capture log{"receiver"};
  support::acked_source source{300, 10, 100};
  worker_node node{source};
  driver d{{node.address}, source};
  // The node stored and acknowledged 0-99, and no batch was cut: with
  // replication 1 they are on the node only.
  support::wait_acked_on(node, source, log, 100);
  lose_and_run_the_rest(node, loss::stop, source, log, d);
  CHECK(log.contains("receiver 0 runs on the driver"));
  CHECK(node.proc.wait_for(seconds(60)) == 0);
}

TEST_CASE("a worker node drops the blocks it keeps for a driver that stopped "
          "its receiver and ended, and its own stop does not wait for them",
          "[receiver][nodes][blocks]") {
  support::log_capture log{"receiver"};
  support::acked_source source{300, 10, 100};
  worker_node node{source, graph::sums, {"--log=node"}};
  {
    driver d{{node.address}, source};
    // The node stored and acknowledged 0-99, and no batch was cut: they
    // are on the node only when the driver stops its receiver and ends.
    support::wait_acked_on(node, source, log, 100);
  }
  CHECK(node.wait_for_line("dropped the 10 blocks kept here for a driver "
                           "that is gone"));
  node.proc.write_line("stop");
  auto rest = node.proc.read_to_end();
  CHECK(rest.find("waiting for the driver to release") == std::string::npos);
  CHECK(node.proc.wait_for(seconds(60)) == 0);
}

TEST_CASE("with replication 1, a batch that reads a block of a lost worker "
          "fails with the reason, and the batches after it run",
          "[receiver][nodes][blocks]") {
  support::log_capture log{"receiver"};
  support::acked_source source{100, 10, 100};
  worker_node node{source, graph::windows};
  driver d{{node.address}, source, graph::windows};
  support::wait_acked_on(node, source, log, 100);
  // Batch 1 s gets 0-99, which stay on the node; the 2 s window reads them
  // with batch 2 s, after the node was killed.
  d.clk->advance(seconds(1));
  d.out->wait_for(++d.cut);
  CHECK(d.out->failures().empty());
  auto failures = support::kill_then_cut(node, log, d);
  REQUIRE(failures.size() == 1);
  CHECK_THAT(failures[0],
             Catch::Contains("cannot fetch block")
               && Catch::Contains("which the worker node " + node.address
                                  + " keeps")
               && Catch::Contains("the node was lost"));
  CHECK(d.out->numbers().empty());
  // The receiver runs on the driver now, and the next windows run.
  for (int i = 0; i < 2; ++i) {
    d.clk->advance(seconds(1));
    d.out->wait_for(++d.cut);
  }
  CHECK(d.out->failures().size() == 1);
  // The placer moves the receiver on its own, after the node's loss.
  CHECK(log.wait_for("receiver 0 runs on the driver"));
}

TEST_CASE("with replication 2, the blocks of a killed worker are read from "
          "their copy on a second worker, and no record is lost",
          "[receiver][nodes][blocks]") {
  support::log_capture log{"receiver"};
  support::acked_source source{300, 10, 100};
  worker_node x{source, graph::sums, {"--log=receiver"}};
  worker_node y{source, graph::sums, {"--log=receiver"}};
  // The receiver runs on a, the first node, whose address sorts after b's:
  // b connects to a when a asks (two nodes must not connect to each other
  // at once).
  auto& a = x.address > y.address ? x : y;
  auto& b = &a == &x ? y : x;
  driver d{{a.address, b.address}, source, graph::sums, 2};
  REQUIRE(a.wait_for_line("receiver 0: its blocks' copies go to the worker "
                          "node " + b.address + ", which connected to this "
                          "one"));
  // Node a stored and acknowledged 0-99, each block copied to node b
  // before it was acknowledged. No batch was cut: the driver has their
  // numbers and counts only.
  support::wait_acked_on(a, source, log, 100);
  lose_and_run_the_rest(a, loss::kill, source, log, d);
  // The driver's output read a's blocks from b.
  CHECK(log.contains("from the worker node " + a.address
                     + ": the node was lost"));
  CHECK(log.contains("trying " + b.address));
}

TEST_CASE("with replication 2, a window reads a killed worker's blocks from "
          "their copy on a second worker",
          "[receiver][nodes][blocks]") {
  support::log_capture log{"receiver"};
  support::acked_source source{100, 10, 100};
  copied_to_b c{source, graph::windows};
  support::wait_acked_on(c.a, source, log, 100);
  // Batch 1 s gets 0-99; the 2 s window reads them with batch 2 s, after
  // node a was killed.
  c.d.clk->advance(seconds(1));
  c.d.out->wait_for(++c.d.cut);
  CHECK(support::kill_then_cut(c.a, log, c.d).empty());
  CHECK(c.d.out->numbers() == range(100));
  CHECK(log.contains("trying " + c.b.address));
}

TEST_CASE("with replication 2 over mutual TLS, the blocks of a killed worker "
          "are read from their copy on the other worker, which stays",
          "[receiver][nodes][blocks][tls]") {
  support::certificates certs;
  support::log_capture log{"receiver"};
  support::log_capture executor{"executor"};
  support::acked_source source{300, 10, 100};
  std::vector<std::string> flags{"--tls=" + certs["node"], "--log=receiver"};
  worker_node x{source, graph::sums, flags};
  worker_node y{source, graph::sums, flags};
  // As over plain TCP: the receiver's node a sorts after b, and b connects
  // to a when a asks.
  auto& a = x.address > y.address ? x : y;
  auto& b = &a == &x ? y : x;
  driver d{{a.address, b.address}, source, graph::sums, 2, certs["driver"]};
  REQUIRE(a.wait_for_line("receiver 0: its blocks' copies go to the worker "
                          "node " + b.address + ", which connected to this "
                          "one"));
  support::wait_acked_on(a, source, log, 100);
  lose_and_run_the_rest(a, loss::kill, source, log, d);
  // The driver's output read a's blocks from b, which kept its TLS
  // connections (`actors/src/node_link.cpp` empties OpenSSL's error queue
  // before each TLS call): the receiver moved there, and b's tasks never
  // failed.
  CHECK(log.contains("trying " + b.address));
  CHECK(log.contains("receiver 0 runs on the worker node " + b.address));
  CHECK_FALSE(executor.contains("worker node " + b.address + " failed"));
}
