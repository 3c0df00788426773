// WordCount with its map stages on worker nodes, against one process, in
// the same run (issue 16's "harness --nodes=2"): batches of --lines
// 100-byte lines of a 1000-word vocabulary (`make_lines`) in --partitions
// partitions go through a queue stream, flat_map, map and reduce_by_key, in
// one process with --workers task slots, and in a driver whose map and
// reduce tasks run on 2 worker node processes (this program with --serve,
// half the task slots each, at least one) over CAF's middleman on
// 127.0.0.1 (`stream.task.placement = workers`). Every batch's counts are
// checked against the words pushed. Each run starts with --warm-up batches
// (1 by default) that are not timed: a new driver's first batch also
// connects to the nodes' task hosts and grows every process's heap for
// the batch's messages and tables (huge pages zeroed as they are first
// touched), a start-up cost, where the runs measure the per-batch one;
// their time is printed on its own.
// Prints lines/s of both, their ratio (and each pair of runs' with their
// median), and the bytes a shuffle moves per word at most (the batch's
// input to each node, the buckets to the reduce tasks, the reduced
// records to the driver), the bytes per word sent over the loopback
// interface in the nodes' fastest run, measured, and the CPU time per
// batch of the fastest runs: the one process's, and the driver's and the
// nodes' (`getrusage` and /proc/<pid>/stat), which on a machine whose
// cores the processes share bounds the ratio.
//
// With --source=receivers the lines come from 2 receivers instead, one
// per worker node, each of which stores --batches x --lines / 2 lines of
// `make_lines` in blocks of --block-lines lines (`store(std::vector)`);
// the word count reads their union. The blocks stay on the node that
// received them (`stream.receiver.replication`, --replication, 1 by
// default: the driver gets their counts only), and the map tasks run
// where they are; in one process the receivers run in the driver. Both
// count from when both receivers started until every word was counted,
// cutting batches as fast as they complete (the lines are made before);
// the bytes sent over the loopback are per line.
// With --workload=grep (receivers only) the graph counts the lines of the
// union that contain a word of the vocabulary (about 1.5% of them)
// instead: no shuffle, and the count's partitions are computed where their
// blocks are (a result stage on the nodes), whose numbers of matching
// lines alone cross to the driver. With --workload=count (receivers only)
// it counts the union's lines (`rdd::count` in `foreach_rdd`, Spark's
// simplest receiver test): the nodes count their blocks' lines.
//
// With --fault=kill or --fault=freeze it measures a worker loss instead
// (issue 16: batches on time again within 2 batch intervals): the driver
// runs --batches 1 s batches of --lines lines on the real clock with its
// map stages on the 2 nodes; once batch 5 completed, one node gets SIGKILL
// (or SIGSTOP, for good). It prints each batch's total delay from batch 4
// on, how many batches after the fault ended more than one interval after
// their time, and a JSON record.
//
// Every process keeps the memory it frees, as the harness does
// (`bench::keep_freed_memory`) and asks for huge pages for its heaps
// (`bench::use_huge_pages`; not with --no-huge-pages); --malloc-defaults
// leaves glibc's defaults.
//
//   nodes_bench [--lines=100000] [--batches=10] [--warm-up=1]
//               [--partitions=4]
//               [--workers=2] [--repeats=3] [--source=queue|receivers]
//               [--workload=word_count|grep|count] [--block-lines=10000]
//               [--replication=1] [--malloc-defaults] [--no-huge-pages]
//   nodes_bench --fault=kill|freeze [--lines=20000] [--batches=20]
//               [--partitions=4] [--workers=2]

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/testing.hpp"

#include "args.hpp"
#include "bench_support.hpp"
#include "memory.hpp"
#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"

using namespace caf_stream;
using bench::seconds_since;
using bench::steady;

namespace {

using count = std::pair<std::string, int64_t>;

const char* app_id = "nodes-bench";

template <class Lines>
auto word_counts(const Lines& lines, size_t partitions) {
  return lines.flat_map(bench::split)
    .map([](const std::string& w) { return count{w, 1}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, partitions);
}

// The word the grep workload looks for: the vocabulary's 20th.
const std::string& grep_word() {
  static const std::string word = "w" + std::to_string(19 * 7919 % 1000003);
  return word;
}

bool matches(const std::string& line) {
  return line.find(grep_word()) != std::string::npos;
}

// The words in `lines`.
int64_t words_in(const std::vector<std::string>& lines) {
  int64_t result = 0;
  for (const auto& line : lines)
    result += static_cast<int64_t>(bench::split(line).size());
  return result;
}

// The words a batch's counts add up to.
int64_t total_of(const rdd<count>& x) {
  auto counts = x.collect();
  return std::accumulate(
    counts.begin(), counts.end(), int64_t{0},
    [](int64_t n, const count& c) { return n + c.second; });
}

// The first `total` lines of `make_lines`, made once per process: both
// receivers of a graph store the same lines.
std::shared_ptr<const std::vector<std::string>> shared_lines(size_t total) {
  static std::mutex mtx;
  static std::map<size_t, std::shared_ptr<const std::vector<std::string>>>
    made;
  std::lock_guard<std::mutex> guard{mtx};
  auto& lines = made[total];
  if (!lines)
    lines = std::make_shared<const std::vector<std::string>>(
      bench::make_lines(total));
  return lines;
}

// Stores `total` lines of `make_lines` (made as the graph is built, before
// the measurement) in blocks of `block_lines` lines (one
// `store(std::vector)` each) from its own thread, then waits to be stopped:
// the input of --source=receivers, alike in the driver and on a worker node.
class line_source final : public threaded_receiver<std::string> {
public:
  line_source(size_t total, size_t block_lines)
    : lines_(shared_lines(total)),
      block_lines_(std::max<size_t>(1, block_lines)) {
    // nop
  }

  ~line_source() override {
    join();
  }

protected:
  void receive() override {
    const auto& lines = *lines_;
    for (size_t i = 0; i < lines.size() && !is_stopped();) {
      auto n = std::min(block_lines_, lines.size() - i);
      auto first = lines.begin() + static_cast<ptrdiff_t>(i);
      store(std::vector<std::string>(first, first + static_cast<ptrdiff_t>(n)));
      i += n;
    }
    while (!is_stopped())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

private:
  std::shared_ptr<const std::vector<std::string>> lines_;
  size_t block_lines_;
};

// What the lines come from.
struct source_options {
  // Whether they come from two `line_source`s, else from a queue stream.
  bool receivers = false;
  // The lines each receiver stores, and in blocks of how many.
  size_t per_receiver = 0;
  size_t block_lines = 0;
  // What the graph counts: the words, the lines that match, or the lines.
  enum class counted { words, matches, lines };
  counted what = counted::words;
};

// The graph over the lines of two `line_source`s: their word count, the
// lines that match, or the lines (`src.what`); `out(n)` gets each batch's
// words counted, lines matched, or lines.
template <class Out>
void received_graph(streaming_context& ssc, const source_options& src,
                    size_t partitions, Out out) {
  auto a = ssc.receiver_stream<std::string>(
    std::make_unique<line_source>(src.per_receiver, src.block_lines));
  auto b = ssc.receiver_stream<std::string>(
    std::make_unique<line_source>(src.per_receiver, src.block_lines));
  auto lines = a.union_with(b);
  auto count_each = [out](const rdd<std::string>& x) { out(x.count()); };
  if (src.what == source_options::counted::matches)
    lines.filter(matches).foreach_rdd(count_each);
  else if (src.what == source_options::counted::lines)
    lines.foreach_rdd(count_each);
  else
    word_counts(lines, partitions)
      .foreach_rdd([out](const rdd<count>& x) { out(total_of(x)); });
}

// What `received_graph` counts of `lines`.
int64_t expected_in(const std::vector<std::string>& lines,
                    const source_options& src) {
  switch (src.what) {
    case source_options::counted::matches:
      return std::count_if(lines.begin(), lines.end(), matches);
    case source_options::counted::lines:
      return static_cast<int64_t>(lines.size());
    default:
      return words_in(lines);
  }
}

// The words each batch counted, and the wait for a batch.
class totals final : public support::batch_waiter {
public:
  void on_receiver_started(const receiver_info&) override {
    std::lock_guard<std::mutex> guard{mtx_};
    ++receivers_;
    cv_.notify_all();
  }

  // Waits until `n` receivers started; false after `bound`.
  bool wait_for_receivers(size_t n, std::chrono::seconds bound) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, bound, [&] { return receivers_ >= n; });
  }

  void add(int64_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    words_.push_back(n);
  }

  std::vector<int64_t> words() {
    std::lock_guard<std::mutex> guard{mtx_};
    return words_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  size_t receivers_ = 0;
  std::vector<int64_t> words_;
};

// Each batch's total delay (its end after its time on the grid), and the
// wait for a batch.
class batch_delays final : public support::batch_waiter {
public:
  void on_batch_completed(const batch_info& info) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto d = info.total_delay();
      delays_.push_back(d ? d->count() : -1);
    }
    support::batch_waiter::on_batch_completed(info);
  }

  // In ms, by batch (from 1); -1 for a batch that did not run.
  std::vector<int64_t> delays() {
    std::lock_guard<std::mutex> guard{mtx_};
    return delays_;
  }

private:
  std::mutex mtx_;
  std::vector<int64_t> delays_;
};

// This program as a worker node with `slots` task slots: serves the graph
// until its standard input closes.
int serve(size_t partitions, size_t slots, const source_options& src) {
  stream_config cfg;
  cfg.set("stream.app-id", app_id);
  cfg.set("stream.workers", slots);
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  streaming_context ssc{sys, std::chrono::seconds(1)};
  if (src.receivers)
    received_graph(ssc, src, partitions, [](int64_t) {});
  else
    word_counts(ssc.queue_stream(std::make_shared<rdd_queue<std::string>>()),
                partitions)
      .foreach_rdd([](const rdd<count>&) {});
  std::cout << "port " << ssc.serve(0) << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    // nop
  }
  ssc.stop();
  return 0;
}

// The driver's options: `workers` task slots, and its map stages on `nodes`
// if any.
stream_options driver_options(size_t workers, std::vector<std::string> nodes) {
  auto opts = bench::options();
  opts.workers = workers;
  opts.app_id = app_id;
  if (!nodes.empty()) {
    opts.state_nodes = std::move(nodes);
    opts.tasks = task_placement::workers;
  }
  return opts;
}

// The bytes sent over the loopback interface so far: the transmit count of
// `lo` in /proc/net/dev (every process's, TCP/IP headers included); 0 if
// there is none.
uint64_t loopback_bytes() {
  std::ifstream in{"/proc/net/dev"};
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo")
      continue;
    // Received: bytes, packets, errs, drop, fifo, frame, compressed,
    // multicast; then sent: bytes, ...
    std::istringstream fields{line.substr(colon + 1)};
    uint64_t x[9] = {};
    for (auto& field : x)
      fields >> field;
    return fields ? x[8] : 0;
  }
  return 0;
}

// The CPU seconds this process used so far, all its threads (those that
// ended too).
double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec)
           + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

// The CPU seconds the processes `pids` used so far: their user and system
// time in /proc/<pid>/stat (in clock ticks), 0 for one that is gone.
double cpu_seconds_of(const std::vector<pid_t>& pids) {
  uint64_t ticks = 0;
  for (auto pid : pids) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string line;
    std::getline(in, line);
    // The fields after the command's closing parenthesis start with the
    // third (the state); utime and stime are the 14th and 15th.
    auto paren = line.rfind(')');
    if (paren == std::string::npos)
      continue;
    std::istringstream fields{line.substr(paren + 1)};
    std::string skipped;
    for (int field = 3; field < 14; ++field)
      fields >> skipped;
    uint64_t utime = 0;
    uint64_t stime = 0;
    if (fields >> utime >> stime)
      ticks += utime + stime;
  }
  return static_cast<double>(ticks)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The CPU time this process and the worker nodes `nodes` use from its
// making on.
class cpu_meter {
public:
  explicit cpu_meter(std::vector<pid_t> nodes)
    : nodes_(std::move(nodes)),
      own0_(own_cpu_seconds()),
      nodes0_(cpu_seconds_of(nodes_)) {
    // nop
  }

  double own() const {
    return own_cpu_seconds() - own0_;
  }

  double nodes() const {
    return cpu_seconds_of(nodes_) - nodes0_;
  }

private:
  std::vector<pid_t> nodes_;
  double own0_;
  double nodes0_;
};

// A run's time, the tasks each executor ran in it (the listeners' count:
// the driver's and each worker node's), the bytes sent over the loopback
// interface meanwhile, and the CPU seconds this process (the driver, or the
// one process) and the worker nodes used.
struct timed_run {
  double seconds = 0;
  std::map<std::string, executor_tasks> tasks;
  uint64_t wire_bytes = 0;
  double driver_cpu = 0;
  double nodes_cpu = 0;
  // The untimed warm-up batches' seconds (the queue source's).
  double warm_up_seconds = 0;
};

// The faster of `x` and `y`.
timed_run faster(timed_run x, timed_run y) {
  return x.seconds <= y.seconds ? std::move(x) : std::move(y);
}

// The fastest run of the one process and of the driver with the worker
// nodes, and each pair's ratio (the one process's time over the nodes'
// run right after it: their lines/s ratio).
struct fastest {
  timed_run one{1e9, {}};
  timed_run two{1e9, {}};
  std::vector<double> pair_ratios;

  // The pairs' median ratio: on a machine whose speed drifts from run to
  // run, steadier than the fastest runs' ratio, which more runs tilt
  // towards the one process (README, "remote messages deserialized in
  // place").
  double median_ratio() const {
    auto xs = pair_ratios;
    std::sort(xs.begin(), xs.end());
    auto n = xs.size();
    if (n == 0)
      return 0;
    return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  }

  // "0.72x, 0.80x, 0.77x; median 0.77x".
  std::string ratios_text() const {
    std::string result;
    char buf[32];
    for (auto x : pair_ratios) {
      std::snprintf(buf, sizeof(buf), "%s%.2fx", result.empty() ? "" : ", ",
                    x);
      result += buf;
    }
    std::snprintf(buf, sizeof(buf), "; median %.2fx", median_ratio());
    return result + buf;
  }

  // Its JSON fields, after a comma.
  std::string json() const {
    std::string result = ",\"pair_ratios\":[";
    char buf[32];
    for (size_t i = 0; i < pair_ratios.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%s%.3f", i == 0 ? "" : ",",
                    pair_ratios[i]);
      result += buf;
    }
    std::snprintf(buf, sizeof(buf), "],\"median_pair_ratio\":%.3f",
                  median_ratio());
    return result + buf;
  }
};

// The fastest of `repeats` runs of the one process (`run(false)`) and of
// the driver with the worker nodes (`run(true)`), alternating, so that both
// see the same load.
template <class Run>
fastest fastest_runs(size_t repeats, Run run) {
  fastest result;
  for (size_t i = 0; i < repeats; ++i) {
    auto one = run(false);
    auto two = run(true);
    result.pair_ratios.push_back(one.seconds / two.seconds);
    result.one = faster(std::move(result.one), std::move(one));
    result.two = faster(std::move(result.two), std::move(two));
  }
  return result;
}

// "driver 12, 127.0.0.1:4301 40, ..." (and the failed ones, if any).
std::string tasks_text(const std::map<std::string, executor_tasks>& xs) {
  std::string result;
  for (const auto& [id, n] : xs) {
    result += (result.empty() ? "" : ", ") + id + " "
              + std::to_string(n.completed);
    if (n.failed > 0)
      result += " (" + std::to_string(n.failed) + " failed)";
  }
  return result;
}

// {"driver":12,...}: the completed tasks by executor.
std::string tasks_json(const std::map<std::string, executor_tasks>& xs) {
  std::string result;
  for (const auto& [id, n] : xs)
    result += (result.empty() ? "\"" : ",\"") + id
              + "\":" + std::to_string(n.completed);
  return "{" + result + "}";
}

// Prints the tasks each executor ran in the nodes' fastest run and each
// pair of runs' ratio, the lines both sources print alike.
void print_runs(const fastest& runs) {
  std::printf("nodes: tasks by executor in the nodes' fastest run: %s\n",
              tasks_text(runs.two.tasks).c_str());
  std::printf("nodes: lines/s ratio of each pair of runs (one process, "
              "then the nodes): %s\n",
              runs.ratios_text().c_str());
}

// The tasks each executor ran between `before` and `now`.
std::map<std::string, executor_tasks>
tasks_since(std::map<std::string, executor_tasks> now,
            const std::map<std::string, executor_tasks>& before) {
  for (const auto& [id, n] : before) {
    now[id].completed -= n.completed;
    now[id].failed -= n.failed;
  }
  return now;
}

// Runs `warm_up` batches, then `batches` batches of `lines` (in
// `partitions` partitions) through the word count, with its map stages on
// `nodes` (processes `pids`) if any; returns the seconds, tasks, bytes and
// CPU from the first batch after the warm-up to the last one's end, and
// the warm-up's seconds.
timed_run run(const std::vector<std::string>& lines, size_t warm_up,
              size_t batches, size_t partitions, size_t workers,
              std::vector<std::string> nodes, std::vector<pid_t> pids) {
  auto opts = driver_options(workers, std::move(nodes));
  auto clk = std::make_shared<testing::manual_clock>();
  auto queue = std::make_shared<rdd_queue<std::string>>();
  auto out = std::make_shared<totals>();
  streaming_context ssc{std::chrono::seconds(1), opts, clk};
  word_counts(ssc.queue_stream(queue), partitions)
    .foreach_rdd([out](const rdd<count>& x) { out->add(total_of(x)); });
  ssc.add_streaming_listener(out);
  ssc.start();
  auto next_batch = [&, k = size_t{0}]() mutable {
    queue->push(parallelize(lines, partitions));
    clk->advance(std::chrono::seconds(1));
    out->wait_for(++k, std::chrono::seconds(300));
  };
  auto w0 = steady::now();
  for (size_t k = 0; k < warm_up; ++k)
    next_batch();
  auto warm_up_seconds = seconds_since(w0);
  auto tasks0 = out->tasks();
  auto t0 = steady::now();
  auto wire0 = loopback_bytes();
  cpu_meter cpu{std::move(pids)};
  for (size_t k = 0; k < batches; ++k)
    next_batch();
  auto elapsed = seconds_since(t0);
  auto wire = loopback_bytes() - wire0;
  auto driver_cpu = cpu.own();
  auto nodes_cpu = cpu.nodes();
  ssc.stop(false);
  auto expected = words_in(lines);
  auto words = out->words();
  if (!out->failures().empty() || words.size() != warm_up + batches
      || std::any_of(words.begin(), words.end(),
                     [&](int64_t n) { return n != expected; }))
    throw std::runtime_error("the counts are wrong"
                             + (out->failures().empty()
                                  ? std::string{}
                                  : ": " + out->failures().front()));
  return {elapsed,   tasks_since(out->tasks(), tasks0), wire, driver_cpu,
          nodes_cpu, warm_up_seconds};
}

// Counts the words of two `line_source`s, with the receivers and the map
// stages on `nodes` (processes `pids`) if any (`replication` copies of
// each block), cutting batches as fast as they complete until every word
// was counted; returns the seconds from when both receivers started to
// then.
timed_run run_received(const source_options& src, size_t partitions,
                       size_t workers, std::vector<std::string> nodes,
                       std::vector<pid_t> pids, size_t replication) {
  auto opts = driver_options(workers, std::move(nodes));
  opts.receiver_replication = replication;
  auto clk = std::make_shared<testing::manual_clock>();
  auto out = std::make_shared<totals>();
  streaming_context ssc{std::chrono::seconds(1), opts, clk};
  received_graph(ssc, src, partitions, [out](int64_t n) { out->add(n); });
  ssc.add_streaming_listener(out);
  auto expected = 2 * expected_in(*shared_lines(src.per_receiver), src);
  ssc.start();
  // From when both receivers run (on a node, once the driver placed them).
  if (!out->wait_for_receivers(2, std::chrono::seconds(60)))
    throw std::runtime_error("the receivers did not start");
  auto t0 = steady::now();
  auto wire0 = loopback_bytes();
  cpu_meter cpu{std::move(pids)};
  int64_t counted = 0;
  for (size_t k = 1; counted < expected && k <= 100000; ++k) {
    clk->advance(std::chrono::seconds(1));
    out->wait_for(k, std::chrono::seconds(300));
    auto words = out->words();
    counted = std::accumulate(words.begin(), words.end(), int64_t{0});
    if (!out->failures().empty())
      break;
  }
  auto elapsed = seconds_since(t0);
  auto wire = loopback_bytes() - wire0;
  auto driver_cpu = cpu.own();
  auto nodes_cpu = cpu.nodes();
  ssc.stop(false);
  if (!out->failures().empty() || counted != expected)
    throw std::runtime_error("the counts are wrong: " + std::to_string(counted)
                             + " counted, " + std::to_string(expected)
                             + " expected"
                             + (out->failures().empty()
                                  ? std::string{}
                                  : ": " + out->failures().front()));
  return {elapsed, out->tasks(), wire, driver_cpu, nodes_cpu};
}

// The CPU milliseconds per `per` lines of the fastest runs, `lines` lines
// each: the one process's, and the driver's and the nodes'; and how many
// times the one process's the latter two are.
struct cpu_figures {
  double one = 0;
  double driver = 0;
  double nodes = 0;

  cpu_figures(const timed_run& one_run, const timed_run& two_run,
              double lines, double per) {
    auto ms = [&](double seconds) { return seconds * 1000 * per / lines; };
    one = ms(one_run.driver_cpu);
    driver = ms(two_run.driver_cpu);
    nodes = ms(two_run.nodes_cpu);
  }

  double ratio() const {
    return one > 0 ? (driver + nodes) / one : 0;
  }

  // "CPU per batch of 100000 lines in the fastest runs: ...".
  void print(const char* per_what) const {
    std::printf("nodes: CPU per %s in the fastest runs: one process %.1f "
                "ms; driver %.1f ms + worker nodes %.1f ms = %.1f ms, %.2f "
                "times the one process's (getrusage and "
                "/proc/<pid>/stat)\n",
                per_what, one, driver, nodes, driver + nodes, ratio());
  }

  // Its JSON fields, after a comma.
  std::string json() const {
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  ",\"one_process_cpu_ms\":%.1f,\"driver_cpu_ms\":%.1f,"
                  "\"nodes_cpu_ms\":%.1f,\"cpu_ratio\":%.3f",
                  one, driver, nodes, ratio());
    return buf;
  }
};

// The bytes one batch's shuffle moves at most: each input partition to the
// node whose task reads it (a word count's map tasks read their own
// partition only), every map task's buckets to the reduce tasks (those on
// the same node do not cross), and the reduced records to the driver.
size_t stage_bytes(const std::vector<std::string>& lines, size_t partitions) {
  auto xs = parallelize(lines, partitions);
  size_t input = 0;
  for (const auto& part : detail::partitions_of(xs))
    input += detail::to_bytes(part).size();
  auto counts = word_counts(xs, partitions);
  std::vector<uint32_t> tasks(partitions);
  std::iota(tasks.begin(), tasks.end(), 0u);
  size_t buckets = 0;
  for (const auto& b :
       counts.node()->run_map_tasks(tasks, task_runner::inline_runner()))
    buckets += b.size();
  size_t reduced = 0;
  for (const auto& part : detail::partitions_of(counts))
    reduced += detail::to_bytes(part).size();
  return input + buckets + reduced;
}

} // namespace

// The 2 worker node processes, started with `flags`, and their addresses;
// none if one did not start.
struct worker_nodes {
  worker_nodes(const char* self, const std::vector<std::string>& flags) {
    for (auto& x : procs) {
      std::vector<std::string> args{self, "--serve"};
      args.insert(args.end(), flags.begin(), flags.end());
      x = std::make_unique<support::child_process>(args);
      auto line = x->read_line();
      if (line.rfind("port ", 0) != 0) {
        std::cerr << "nodes_bench: a worker node did not start: " << line
                  << '\n';
        addresses.clear();
        return;
      }
      addresses.push_back("127.0.0.1:" + line.substr(5));
    }
  }

  // Their process ids.
  std::vector<pid_t> pids() const {
    std::vector<pid_t> result;
    for (const auto& x : procs)
      result.push_back(x->pid());
    return result;
  }

  std::unique_ptr<support::child_process> procs[2];
  std::vector<std::string> addresses;
};

// Runs `batches` 1 s batches of `lines` on the real clock with the map
// stages on `nodes`, applies `fault` to the first node once batch 5
// completed, and prints the delays.
int recovery(worker_nodes& nodes, const std::string& fault,
             const std::vector<std::string>& lines, size_t batches,
             size_t partitions, size_t workers) {
  constexpr size_t fault_after = 5;
  auto opts = driver_options(workers, nodes.addresses);
  auto queue = std::make_shared<rdd_queue<std::string>>();
  for (size_t k = 0; k < batches; ++k)
    queue->push(parallelize(lines, partitions));
  auto out = std::make_shared<batch_delays>();
  // Batches whose counts are wrong.
  auto wrong = std::make_shared<std::atomic<size_t>>(0);
  streaming_context ssc{std::chrono::seconds(1), opts};
  word_counts(ssc.queue_stream(queue), partitions)
    .foreach_rdd([wrong, expected = words_in(lines)](const rdd<count>& x) {
      if (total_of(x) != expected)
        ++*wrong;
    });
  ssc.add_streaming_listener(out);
  ssc.start();
  out->wait_for(fault_after, std::chrono::seconds(300));
  if (fault == "kill")
    nodes.procs[0]->kill();
  else
    nodes.procs[0]->freeze();
  out->wait_for(batches, std::chrono::seconds(600));
  ssc.stop(false);
  nodes.procs[0]->kill();
  auto delays = out->delays();
  size_t late = 0;
  int64_t worst = 0;
  for (size_t k = fault_after; k < delays.size(); ++k) {
    if (delays[k] < 0 || delays[k] >= 1000)
      ++late;
    worst = std::max(worst, delays[k]);
  }
  for (size_t k = fault_after - 2; k < delays.size(); ++k)
    std::printf("nodes: batch %zu: total delay %lld ms%s\n", k + 1,
                static_cast<long long>(delays[k]),
                k + 1 == fault_after ? " (the fault follows)" : "");
  std::printf("nodes: %s of a worker node after batch %zu, 1 s batches of "
              "%zu lines: %zu of the %zu batches after it late (ended more "
              "than 1 s after their time), the worst %lld ms%s\n",
              fault.c_str(), fault_after, lines.size(), late,
              delays.size() - fault_after, static_cast<long long>(worst),
              out->failures().empty() && *wrong == 0
                ? "; every count exact"
                : "; SOME BATCHES FAILED OR COUNTED WRONG");
  std::printf("{\"bench\":\"nodes_fault\",\"fault\":\"%s\",\"lines\":%zu,"
              "\"batches_after\":%zu,\"late\":%zu,\"worst_ms\":%lld,"
              "\"failed\":%zu,\"wrong\":%zu}\n",
              fault.c_str(), lines.size(), delays.size() - fault_after, late,
              static_cast<long long>(worst), out->failures().size(),
              wrong->load());
  return out->failures().empty() && *wrong == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  // --serve is how the bench starts its worker nodes.
  bench::check_args(
    argc, argv,
    "nodes_bench [--lines=100000] [--batches=10] [--warm-up=1] "
    "[--partitions=4] [--workers=2] [--repeats=3] [--source=queue|receivers] "
    "[--workload=word_count|grep|count] [--block-lines=10000] "
    "[--replication=1] "
    "[--malloc-defaults] [--no-huge-pages]\n"
    "       nodes_bench --fault=kill|freeze [--lines=20000] [--batches=20] "
    "[--partitions=4] [--workers=2]",
    {"lines", "batches", "warm-up", "partitions", "workers", "repeats",
     "source", "workload", "block-lines", "replication", "fault", "serve",
     "malloc-defaults", "no-huge-pages"});
  // In every process, the nodes too (they get the flags).
  auto malloc_defaults = bench::has_flag(argc, argv, "malloc-defaults");
  auto huge_pages = !malloc_defaults
                    && !bench::has_flag(argc, argv, "no-huge-pages");
  if (huge_pages)
    bench::use_huge_pages(argv);
  if (!malloc_defaults)
    bench::keep_freed_memory();
  auto partitions = bench::arg(argc, argv, "partitions", 4);
  auto workers = bench::arg(argc, argv, "workers", 2);
  auto source = bench::arg_text(argc, argv, "source", "queue");
  if (source != "queue" && source != "receivers") {
    std::cerr << "nodes_bench: --source takes queue or receivers, not "
              << source << '\n';
    return 1;
  }
  auto workload = bench::arg_text(argc, argv, "workload", "word_count");
  if (workload != "word_count" && workload != "grep" && workload != "count") {
    std::cerr << "nodes_bench: --workload takes word_count, grep or count, "
                 "not "
              << workload << '\n';
    return 1;
  }
  source_options src;
  src.receivers = source == "receivers";
  if (workload == "grep")
    src.what = source_options::counted::matches;
  else if (workload == "count")
    src.what = source_options::counted::lines;
  if (workload != "word_count" && !src.receivers) {
    std::cerr << "nodes_bench: --workload=" << workload
              << " needs --source=receivers\n";
    return 1;
  }
  src.per_receiver = bench::arg(argc, argv, "batches", 10)
                     * bench::arg(argc, argv, "lines", 100000) / 2;
  src.block_lines = bench::arg(argc, argv, "block-lines", 10000);
  if (bench::has_flag(argc, argv, "serve"))
    return serve(partitions, workers, src);
  auto fault = bench::arg_text(argc, argv, "fault", "");
  if (!fault.empty() && fault != "kill" && fault != "freeze") {
    std::cerr << "nodes_bench: --fault takes kill or freeze, not " << fault
              << '\n';
    return 1;
  }
  auto num_lines = bench::arg(argc, argv, "lines",
                              fault.empty() ? 100000 : 20000);
  auto batches = bench::arg(argc, argv, "batches", fault.empty() ? 10 : 20);
  auto repeats = bench::arg(argc, argv, "repeats", 3);
  auto warm_up = bench::arg(argc, argv, "warm-up", 1);
  if ((src.receivers || !fault.empty())
      && !bench::arg_text(argc, argv, "warm-up", "").empty()) {
    std::cerr << "nodes_bench: --warm-up applies to the queue source's runs, "
                 "not to --source=receivers or --fault\n";
    return 1;
  }
  auto lines = bench::make_lines(num_lines);
  std::vector<std::string> node_flags{
    "--partitions=" + std::to_string(partitions),
    "--workers=" + std::to_string(std::max<size_t>(1, workers / 2)),
    "--source=" + source, "--workload=" + workload,
    "--batches=" + std::to_string(batches),
    "--lines=" + std::to_string(num_lines),
    "--block-lines=" + std::to_string(src.block_lines)};
  if (malloc_defaults)
    node_flags.emplace_back("--malloc-defaults");
  else if (!huge_pages)
    node_flags.emplace_back("--no-huge-pages");
  worker_nodes started{argv[0], node_flags};
  auto& nodes = started.addresses;
  if (nodes.empty())
    return 1;
  if (!fault.empty()) {
    try {
      return recovery(started, fault, lines, batches, partitions, workers);
    } catch (const std::exception& e) {
      std::cerr << "nodes_bench: " << e.what() << '\n';
      return 1;
    }
  }
  if (src.receivers) {
    auto replication = bench::arg(argc, argv, "replication", 1);
    try {
      auto runs = fastest_runs(repeats, [&](bool on_nodes) {
        return on_nodes ? run_received(src, partitions, workers, nodes,
                                       started.pids(), replication)
                        : run_received(src, partitions, workers, {}, {},
                                       replication);
      });
      const auto& one_best = runs.one;
      const auto& best = runs.two;
      auto one = one_best.seconds;
      auto two = best.seconds;
      auto total = static_cast<double>(2 * src.per_receiver);
      cpu_figures cpu{one_best, best, total, 100000};
      std::printf("nodes: %s of %zu lines from 2 receivers (blocks "
                  "of %zu lines, replication %zu): one process (%zu task "
                  "slots) %.0f lines/s, driver + 2 worker nodes (receivers "
                  "and %s there) %.0f lines/s: %.2fx\n",
                  workload.c_str(), 2 * src.per_receiver, src.block_lines,
                  replication, workers, total / one,
                  workload == "word_count" ? "map stages" : "result stages",
                  total / two, one / two);
      print_runs(runs);
      auto wire = static_cast<double>(best.wire_bytes) / total;
      std::printf("nodes: %.1f bytes per line sent over the loopback in the "
                  "nodes' fastest run (/proc/net/dev: every process's, TCP/IP "
                  "headers included)\n",
                  wire);
      cpu.print("100,000 lines");
      std::printf("{\"bench\":\"nodes_receivers\",\"workload\":\"%s\","
                  "\"lines\":%zu,"
                  "\"block_lines\":%zu,\"replication\":%zu,"
                  "\"workers\":%zu,\"one_process_lines_per_s\":%.0f,"
                  "\"two_nodes_lines_per_s\":%.0f,\"ratio\":%.3f,"
                  "\"wire_bytes_per_line\":%.1f%s%s,\"tasks\":%s}\n",
                  workload.c_str(), 2 * src.per_receiver, src.block_lines,
                  replication, workers, total / one, total / two, one / two,
                  wire, runs.json().c_str(), cpu.json().c_str(),
                  tasks_json(best.tasks).c_str());
    } catch (const std::exception& e) {
      std::cerr << "nodes_bench: " << e.what() << '\n';
      return 1;
    }
    return 0;
  }
  try {
    auto runs = fastest_runs(repeats, [&](bool on_nodes) {
      return on_nodes ? run(lines, warm_up, batches, partitions, workers,
                            nodes, started.pids())
                      : run(lines, warm_up, batches, partitions, workers, {},
                            {});
    });
    const auto& one_best = runs.one;
    const auto& best = runs.two;
    auto one = one_best.seconds;
    auto two = best.seconds;
    auto total = static_cast<double>(num_lines * batches);
    cpu_figures cpu{one_best, best, total, static_cast<double>(num_lines)};
    auto words = static_cast<double>(words_in(lines));
    auto bytes = static_cast<double>(stage_bytes(lines, partitions)) / words;
    auto wire = static_cast<double>(best.wire_bytes)
                / (words * static_cast<double>(batches));
    std::printf("nodes: word count of %zu batches of %zu lines in %zu "
                "partitions, after %zu untimed: one process (%zu task slots) "
                "%.0f lines/s, driver + 2 worker nodes (map and reduce tasks "
                "there) %.0f lines/s: %.2fx; %.1f bytes per word on the wire "
                "at most (by the stages' sizes)\n",
                batches, num_lines, partitions, warm_up, workers, total / one,
                total / two, one / two, bytes);
    print_runs(runs);
    if (warm_up > 0)
      std::printf("nodes: the untimed first %zu batch%s of the fastest runs "
                  "(a new driver connects, the heaps grow): one process %.1f "
                  "ms, driver + 2 worker nodes %.1f ms\n",
                  warm_up, warm_up == 1 ? "" : "es",
                  one_best.warm_up_seconds * 1000,
                  best.warm_up_seconds * 1000);
    std::printf("nodes: %.1f bytes per word sent over the loopback in the "
                "nodes' fastest run (/proc/net/dev: every process's, TCP/IP "
                "headers and the tasks' messages included)\n",
                wire);
    cpu.print(("batch of " + std::to_string(num_lines) + " lines").c_str());
    std::printf("{\"bench\":\"nodes\",\"lines\":%zu,\"batches\":%zu,"
                "\"warm_up\":%zu,\"one_process_warm_up_ms\":%.1f,"
                "\"two_nodes_warm_up_ms\":%.1f,"
                "\"partitions\":%zu,\"workers\":%zu,"
                "\"one_process_lines_per_s\":%.0f,"
                "\"two_nodes_lines_per_s\":%.0f,\"ratio\":%.3f,"
                "\"bytes_per_word\":%.2f,\"wire_bytes_per_word\":%.2f%s%s,"
                "\"tasks\":%s}\n",
                num_lines, batches, warm_up, one_best.warm_up_seconds * 1000,
                best.warm_up_seconds * 1000, partitions, workers, total / one,
                total / two, one / two, bytes, wire, runs.json().c_str(),
                cpu.json().c_str(), tasks_json(best.tasks).c_str());
  } catch (const std::exception& e) {
    std::cerr << "nodes_bench: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
