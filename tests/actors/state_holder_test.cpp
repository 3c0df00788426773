#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_stream/testing.hpp"

#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"
#include "support/node_child.hpp"
#include "support/ports.hpp"
#include "support/state_graph.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// State holders on state nodes: the driver (this test) and the nodes (child
// processes running `state_node_child`) build the same graph; the driver's
// `stream.state-nodes` puts the holders of each state partition on the
// nodes, so every batch's partitions and results cross a real TCP
// connection as bytes. The results must be those of a single process.

namespace {

using kv = test::state_graph::kv;
using table = std::vector<std::vector<kv>>;

// What the four state streams gave per batch number, and the batches'
// failures; and the executors and their tasks (`batch_waiter`).
class recorder final : public support::batch_waiter {
public:
  void add(int which, caf_stream::time t, std::vector<kv> xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::sort(xs.begin(), xs.end());
    by_batch_[which][t.milliseconds() / 1000] = std::move(xs);
  }

  void on_batch_completed(const batch_info& info) override {
    support::batch_waiter::on_batch_completed(info);
    std::lock_guard<std::mutex> guard{mtx_};
    last_ = info.batch_time.milliseconds() / 1000;
    if (info.failure_reason)
      failures_[last_] = *info.failure_reason;
    cv_.notify_all();
  }

  // Waits (bounded, for a stuck runtime) until batch `k` completed.
  void wait_for(int64_t k) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, seconds(120), [&] { return last_ >= k; }))
      throw std::runtime_error("batch " + std::to_string(k)
                               + " did not complete");
  }

  table rows(int which, int64_t first, int64_t last) {
    std::lock_guard<std::mutex> guard{mtx_};
    table result;
    for (auto k = first; k <= last; ++k)
      result.push_back(by_batch_[which][k]);
    return result;
  }

  std::string failure(int64_t k) {
    std::lock_guard<std::mutex> guard{mtx_};
    return failures_[k];
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<int64_t, std::vector<kv>> by_batch_[4];
  std::map<int64_t, std::string> failures_;
  int64_t last_ = 0;
};

using state_node = support::node_child;

// A driver under a manual clock whose state and map stages go to `nodes`
// and to the nodes that join at `driver_port` (0: none do); the map stages
// stay on the driver with `tasks` = `task_placement::driver`.
struct driver {
  driver(std::vector<std::string> nodes, const std::string& checkpoints,
         caf_stream::time start = caf_stream::time{0},
         duration state_timeout = seconds(60),
         size_t state_log_limit = stream_options{}.state_log_limit,
         uint16_t driver_port = 0,
         task_placement tasks = task_placement::automatic)
    : clk(std::make_shared<testing::manual_clock>(start)),
      queue(std::make_shared<rdd_queue<kv>>()),
      rec(std::make_shared<recorder>()) {
    auto opts = testing::default_test_options();
    opts.workers = 2;
    opts.default_parallelism = 3;
    opts.state_nodes = std::move(nodes);
    opts.state_timeout = state_timeout;
    opts.state_log_limit = state_log_limit;
    opts.driver_port = driver_port;
    opts.tasks = tasks;
    // The nodes are another executable of the same application.
    opts.app_id = "state-node-tests";
    ssc = streaming_context::get_or_create(checkpoints, [&] {
      auto ctx = std::make_unique<streaming_context>(seconds(1), opts, clk);
      auto g = test::state_graph::build(*ctx, queue);
      record(0, g.sums);
      record(1, g.counts);
      record(2, g.snapshots);
      record(3, g.windows);
      return ctx;
    });
    ssc->add_streaming_listener(rec);
    ssc->start();
  }

  void record(int which, const dstream<kv>& s) {
    auto r = rec;
    s.foreach_rdd([r, which](const rdd<kv>& x, caf_stream::time t) {
      r->add(which, t, x.collect());
    });
  }

  // Runs the next batch on `input`.
  void run(std::vector<kv> input) {
    queue->push(parallelize(std::move(input), 2));
    clk->advance(seconds(1));
    rec->wait_for(clk->now().milliseconds() / 1000);
  }

  // Runs the next batches on `batches[first]` up to `batches[last - 1]`.
  void run(const table& batches, size_t first, size_t last) {
    for (auto k = first; k < last; ++k)
      run(batches[k]);
  }

  // Checks that batches 1 to `last` did not fail.
  void check_no_failures(int64_t last) {
    for (int64_t k = 1; k <= last; ++k) {
      INFO("batch " << k);
      CHECK(rec->failure(k).empty());
    }
  }

  std::shared_ptr<testing::manual_clock> clk;
  std::shared_ptr<rdd_queue<kv>> queue;
  std::shared_ptr<recorder> rec;
  std::unique_ptr<streaming_context> ssc;
};

const table input{{{"a", 1}, {"b", 2}}, {{"a", 3}}, {{"c", 1}, {"b", 1}},
                  {}, {{"a", 2}, {"c", 4}}};

// The running sums and the per-batch counts of `input`'s batches 1 to 5.
const table sums_of_input{{{"a", 1}, {"b", 2}},
                          {{"a", 4}, {"b", 2}},
                          {{"a", 4}, {"b", 3}, {"c", 1}},
                          {{"a", 4}, {"b", 3}, {"c", 1}},
                          {{"a", 6}, {"b", 3}, {"c", 5}}};
const table counts_of_input{{{"a", 1}, {"b", 1}},
                            {{"a", 2}},
                            {{"b", 2}, {"c", 1}},
                            {},
                            {{"a", 3}, {"c", 2}}};

// Runs `input`'s batches with the state on `node`: none fails, and the
// running sums and the counts are exact.
void check_input_on(const state_node& node) {
  testing::temporary_directory dir;
  driver d{{node.address}, dir.path()};
  for (auto& batch : input)
    d.run(batch);
  d.check_no_failures(5);
  CHECK(d.rec->rows(0, 1, 5) == sums_of_input);
  CHECK(d.rec->rows(1, 1, 5) == counts_of_input);
}

} // namespace

TEST_CASE("state holders on state nodes give the results of one process",
          "[actors][state]") {
  state_node n1;
  state_node n2;
  testing::temporary_directory dir;
  {
    driver d{{n1.address, n2.address}, dir.path()};
    for (auto& batch : input)
      d.run(batch);
    for (int64_t k = 1; k <= 5; ++k)
      CHECK(d.rec->failure(k).empty());
    CHECK(d.rec->rows(0, 1, 5) == sums_of_input);
    CHECK(d.rec->rows(1, 1, 5) == counts_of_input);
    CHECK(d.rec->rows(2, 1, 5)
          == table{{{"a", 1}, {"b", 1}},
                   {{"a", 2}, {"b", 1}},
                   {{"a", 2}, {"b", 2}, {"c", 1}},
                   {{"a", 2}, {"b", 2}, {"c", 1}},
                   {{"a", 3}, {"b", 2}, {"c", 2}}});
    CHECK(d.rec->rows(3, 1, 5)
          == table{{{"a", 1}, {"b", 2}},
                   {{"a", 4}, {"b", 2}},
                   {{"a", 3}, {"b", 1}, {"c", 1}},
                   {{"b", 1}, {"c", 1}},
                   {{"a", 2}, {"c", 4}}});
    // The final checkpoint reads the state back from the nodes.
    d.ssc->stop(true);
  }
  {
    // A new driver restores the checkpointed state onto the nodes.
    driver d{{n1.address, n2.address}, dir.path(), caf_stream::time{5000}};
    CHECK(d.ssc->is_recovered());
    d.run({{"b", 5}});
    d.run({{"d", 1}});
    CHECK(d.rec->failure(6).empty());
    CHECK(d.rec->rows(0, 6, 7)
          == table{{{"a", 6}, {"b", 8}, {"c", 5}},
                   {{"a", 6}, {"b", 8}, {"c", 5}, {"d", 1}}});
    CHECK(d.rec->rows(2, 6, 7)
          == table{{{"a", 3}, {"b", 3}, {"c", 2}},
                   {{"a", 3}, {"b", 3}, {"c", 2}, {"d", 1}}});
    CHECK(d.rec->rows(3, 6, 7)
          == table{{{"a", 2}, {"b", 5}, {"c", 4}}, {{"b", 5}, {"d", 1}}});
  }
}

TEST_CASE("a node whose default parallelism is not the driver's runs map "
          "tasks with the driver's, and the results stay exact",
          "[actors][state][nodes]") {
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  // The driver's stream.default-parallelism is 3, the node's 5: the node
  // builds each by-key operation that names no count with the driver's.
  state_node node{{"--parallelism=5"}};
  check_input_on(node);
  CHECK(log.contains("ran on the worker node " + node.address));
  CHECK_FALSE(log.contains("reduce partitions, the driver's"));
  CHECK_FALSE(log.contains("run again elsewhere"));
}

TEST_CASE("a node whose copy of a shuffle has more partitions than the "
          "driver's fails its map tasks with that reason, and the results "
          "stay exact",
          "[actors][state][nodes]") {
  support::log_capture log{"executor"};
  // The node's running sums name 5 partitions, the driver's none (3).
  state_node node{{"--partitions=5"}};
  check_input_on(node);
  CHECK(log.contains("its copy of the shuffle has 5 reduce partitions, the "
                     "driver's 3"));
}

TEST_CASE("a state node running another graph is refused",
          "[actors][state]") {
  state_node other{{"--other"}};
  testing::temporary_directory dir;
  driver d{{other.address}, dir.path()};
  d.run(input[0]);
  CHECK_THAT(d.rec->failure(1),
             Catch::Contains("runs another graph")
               && Catch::Contains(other.address));
}

// The four streams' rows for `batches`, computed directly: running sums,
// each record's running count (`map_with_state`) and the counts of every
// key, and sums over the last two batches (keys have values above 0).
std::vector<table> expected_rows(const table& batches) {
  std::map<std::string, int> sums;
  std::map<std::string, int> counts;
  std::vector<table> rows(4);
  for (size_t k = 0; k < batches.size(); ++k) {
    std::vector<kv> mapped;
    for (const auto& [key, value] : batches[k]) {
      sums[key] += value;
      mapped.emplace_back(key, ++counts[key]);
    }
    std::sort(mapped.begin(), mapped.end());
    std::map<std::string, int> window;
    for (auto j = k > 0 ? k - 1 : k; j <= k; ++j)
      for (const auto& [key, value] : batches[j])
        window[key] += value;
    rows[0].emplace_back(sums.begin(), sums.end());
    rows[1].push_back(std::move(mapped));
    rows[2].emplace_back(counts.begin(), counts.end());
    rows[3].emplace_back(window.begin(), window.end());
  }
  return rows;
}

// `n` batches of distinct keys among "a".."f" with values 1..5, one empty.
table some_batches(size_t n) {
  table result(n);
  for (size_t k = 0; k < n; ++k)
    for (int j = 0; j < 6 && k != 4; ++j)
      if ((k * 7 + j * 3) % 4 != 0)
        result[k].emplace_back(std::string(1, static_cast<char>('a' + j)),
                               static_cast<int>((k + j) % 5 + 1));
  return result;
}

// Checks the rows of batches `first`..`last` (numbered from 1) against
// what all of `batches` give.
void check_rows(recorder& rec, const table& batches, int64_t first,
                int64_t last) {
  auto rows = expected_rows(batches);
  for (int which = 0; which < 4; ++which) {
    INFO("stream " << which);
    CHECK(rec.rows(which, first, last)
          == table(rows[which].begin() + (first - 1),
                   rows[which].begin() + last));
  }
}

TEST_CASE("a lost state node's partitions move to another node with their "
          "state",
          "[actors][state]") {
  auto n1 = std::make_unique<state_node>();
  auto n2 = std::make_unique<state_node>();
  testing::temporary_directory dir;
  driver d{{n1->address, n2->address}, dir.path()};
  auto batches = some_batches(14);
  d.run(batches, 0, 3);
  // Partition 1 moves to n1 with its state: the updates since the start.
  n2->proc.kill();
  d.run(batches, 3, 6);
  // n2 comes back on its port; nothing moves back.
  n2 = std::make_unique<state_node>(
    std::vector<std::string>{"--port=" + n2->port});
  // Batch 10 checkpoints the state: from then on a new holder gets the
  // saved state and the updates since.
  d.run(batches, 6, 11);
  n1->proc.kill();
  d.run(batches, 11, 14);
  d.check_no_failures(14);
  check_rows(*d.rec, batches, 1, 14);
}

TEST_CASE("without a state node to take a lost partition, the driver holds "
          "it until a node takes it back at the next save",
          "[actors][state]") {
  support::log_capture log{"scheduler"};
  auto n = std::make_unique<state_node>();
  auto address = n->address;
  testing::temporary_directory dir;
  driver d{{address}, dir.path(), caf_stream::time{0}, seconds(2)};
  auto batches = some_batches(14);
  d.run(batches[0]);
  n->proc.kill();
  // The driver takes the partitions with their state: no batch fails.
  d.run(batches[1]);
  d.run(batches[2]);
  CHECK(log.contains("so this node holds it until one does"));
  // The node comes back on its port; batch 10 checkpoints the state, and
  // the partitions move back to the node with it.
  n = std::make_unique<state_node>(
    std::vector<std::string>{"--port=" + n->port});
  d.run(batches, 3, 11);
  CHECK(log.contains("moved back to the state node " + address));
  // Lost again, they come back to the driver with what was saved and the
  // updates since.
  n->proc.kill();
  d.run(batches, 11, 14);
  d.check_no_failures(14);
  check_rows(*d.rec, batches, 1, 14);
  // The listeners heard of the node as it was lost, of the one back on its
  // port as a new executor, and of its loss.
  CHECK(d.rec->executors()
        == std::vector<std::string>{"+driver", "+" + address, "-" + address,
                                    "+" + address, "-" + address});
}

TEST_CASE("with the map stages on the driver, the state nodes are "
          "executors, and each state partition's call is a task there",
          "[actors][state][executors]") {
  auto n1 = std::make_unique<state_node>();
  state_node n2;
  testing::temporary_directory dir;
  driver d{{n1->address, n2.address}, dir.path(), caf_stream::time{0},
           seconds(60), stream_options{}.state_log_limit, 0,
           task_placement::driver};
  auto batches = some_batches(6);
  d.run(batches, 0, 3);
  // Of each call's 3 partitions, n1 holds partitions 0 and 2, n2
  // partition 1.
  auto tasks = d.rec->tasks();
  CHECK(tasks[n1->address].completed >= 3 * 2);
  CHECK(tasks[n1->address].completed == 2 * tasks[n2.address].completed);
  auto executors = d.rec->executors();
  std::sort(executors.begin(), executors.end());
  auto both = std::vector<std::string>{"+" + n1->address, "+" + n2.address,
                                       "+driver"};
  std::sort(both.begin(), both.end());
  CHECK(executors == both);
  // n1's partitions move to n2, and n1 is removed.
  n1->proc.kill();
  d.run(batches, 3, 6);
  d.check_no_failures(6);
  check_rows(*d.rec, batches, 1, 6);
  executors = d.rec->executors();
  CHECK(executors.size() == 4);
  CHECK(executors.back() == "-" + n1->address);
  CHECK(d.rec->tasks()[n2.address].completed > tasks[n2.address].completed);
}

TEST_CASE("a worker node that joins at run time takes the state at the "
          "next save, and gives it back when it leaves",
          "[actors][state][nodes]") {
  support::log_capture log{"scheduler"};
  support::log_capture nodes{"nodes"};
  testing::temporary_directory dir;
  auto [d, port] = support::make_on_free_port([&](uint16_t free) {
    return std::make_unique<driver>(std::vector<std::string>{}, dir.path(),
                                     caf_stream::time{0}, seconds(60),
                                     stream_options{}.state_log_limit, free);
  });
  auto batches = some_batches(16);
  // No node has joined: the driver holds the state.
  d->run(batches, 0, 3);
  CHECK(log.contains("there is no worker node, so this node holds it"));
  state_node n{{"--driver=127.0.0.1:" + std::to_string(port)}};
  REQUIRE(nodes.wait_for("the worker node " + n.address + " joined"));
  // Batch 10 checkpoints the state, and the partitions move to the node
  // with it.
  d->run(batches, 3, 12);
  CHECK(log.contains("moved back to the state node " + n.address));
  // The node stops gracefully: it leaves, and the driver takes its
  // partitions back with what was saved and the updates since.
  n.proc.write_line("stop");
  CHECK(n.proc.wait() == 0);
  CHECK(nodes.contains("the worker node " + n.address
                       + " left: 0 worker nodes in all"));
  d->run(batches, 12, 16);
  d->check_no_failures(16);
  check_rows(*d->rec, batches, 1, 16);
}

TEST_CASE("a worker node on every interface joins as the address it "
          "connects from, one of another program is refused",
          "[actors][state][nodes]") {
  support::log_capture nodes{"nodes"};
  testing::temporary_directory dir;
  auto [d, port] = support::make_on_free_port([&](uint16_t free) {
    return std::make_unique<driver>(std::vector<std::string>{}, dir.path(),
                                     caf_stream::time{0}, seconds(60),
                                     stream_options{}.state_log_limit, free);
  });
  auto at = "--driver=127.0.0.1:" + std::to_string(port);
  state_node everywhere{{at, "--address=0.0.0.0"}};
  CHECK(nodes.wait_for("the worker node 127.0.0.1:" + everywhere.port
                       + " joined: 1 worker node in all"));
  state_node other{{at, "--app-id=another-application"}};
  CHECK(nodes.wait_for("may not join: the worker node runs another program"));
  d->run(input[0]);
  CHECK(d->rec->failure(1).empty());
}

TEST_CASE("past stream.state-log-limit the driver keeps a partition's state "
          "instead of its updates",
          "[actors][state]") {
  support::log_capture log{"scheduler"};
  auto n1 = std::make_unique<state_node>();
  auto n2 = std::make_unique<state_node>();
  testing::temporary_directory dir;
  // A log of one record at most: every batch's updates pass it, so the
  // driver asks for the state after each, and a new holder gets only that.
  driver d{{n1->address, n2->address}, dir.path(), caf_stream::time{0},
           seconds(60), 1};
  auto batches = some_batches(6);
  d.run(batches, 0, 3);
  n2->proc.kill();
  d.run(batches, 3, 6);
  CHECK(log.contains("(1 calls since it was last saved)"));
  CHECK_FALSE(log.contains("keeps its log"));
  d.check_no_failures(6);
  check_rows(*d.rec, batches, 1, 6);
}

TEST_CASE("a state node that hangs is lost after stream.state-timeout, and "
          "the driver stops without waiting for it",
          "[actors][state]") {
  auto n1 = std::make_unique<state_node>();
  auto n2 = std::make_unique<state_node>();
  testing::temporary_directory dir;
  auto batches = some_batches(4);
  {
    driver d{{n1->address, n2->address}, dir.path(), caf_stream::time{0},
             seconds(2)};
    d.run(batches[0]);
    d.run(batches[1]);
    // Frozen: its connection stays up, but nothing answers.
    n2->proc.send_signal(SIGSTOP);
    d.run(batches[2]);
    d.run(batches[3]);
    d.check_no_failures(4);
    check_rows(*d.rec, batches, 1, 4);
    // The final checkpoint asks n1 and this node only.
    auto stopped = std::async(std::launch::async, [&] { d.ssc->stop(true); });
    auto done = stopped.wait_for(seconds(60)) == std::future_status::ready;
    if (!done)
      n2->proc.send_signal(SIGCONT);
    CHECK(done);
  }
  n2->proc.send_signal(SIGCONT);
}

TEST_CASE("a state node of another program is refused", "[actors][state]") {
  state_node other{{"--app-id=another"}};
  testing::temporary_directory dir;
  driver d{{other.address}, dir.path()};
  d.run(input[0]);
  CHECK_THAT(d.rec->failure(1),
             Catch::Contains("runs another program")
               && Catch::Contains("stream.app-id")
               && Catch::Contains(other.address));
}

namespace {

struct opaque {
  int n = 0;
};

} // namespace

TEST_CASE("state that cannot be serialized stays off state nodes",
          "[actors][state]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  // Never contacted: the check comes first.
  opts.state_nodes = {"127.0.0.1:9"};
  auto clk = std::make_shared<testing::manual_clock>();
  streaming_context ssc{seconds(1), opts, clk};
  ssc.checkpoint(dir.path());
  auto queue = std::make_shared<rdd_queue<kv>>();
  auto rec = std::make_shared<recorder>();
  ssc.add_streaming_listener(rec);
  // The state is an int (checkpoints need it serializable), the values
  // are not.
  ssc.queue_stream(queue)
    .map([](const kv& x) { return std::make_pair(x.first, opaque{x.second}); })
    .update_state_by_key(
      [](const std::vector<opaque>& xs, std::optional<int> st) {
        auto n = st.value_or(0);
        for (auto& x : xs)
          n += x.n;
        return std::optional<int>{n};
      })
    .print();
  ssc.start();
  clk->advance(seconds(1));
  rec->wait_for(1);
  CHECK_THAT(rec->failure(1), Catch::Contains("no Boost.Serialization"));
}

TEST_CASE("serve and serve_state need a middleman",
          "[actors][state]") {
  streaming_context ssc{seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  CHECK_THROWS_WITH(ssc.serve(0), Catch::Contains("no middleman"));
  CHECK_THROWS_WITH(ssc.serve_state(0), Catch::Contains("no middleman"));
}

TEST_CASE("stream.nodes takes host:port entries, and a positive log "
          "limit",
          "[actors][state]") {
  stream_options opts;
  opts.state_nodes = {"localhost"};
  CHECK_THROWS_WITH(opts.validate(), Catch::Contains("host:port"));
  opts.state_nodes = {"localhost:0"};
  CHECK_THROWS_WITH(opts.validate(), Catch::Contains("from 1 to 65535"));
  opts.state_nodes = {"localhost:4242", "10.0.0.2:4242"};
  CHECK_NOTHROW(opts.validate());
  opts.state_log_limit = 0;
  CHECK_THROWS_WITH(opts.validate(),
                    Catch::Contains("stream.state-log-limit")
                      && Catch::Contains("must be positive"));
}
