// The chaos run of a cluster: a driver (this program) and worker nodes
// (`state_node_child`) run a graph with its tasks, state and receivers on
// the nodes. While batches run, it SIGKILLs a node at a random moment and
// starts it again on its port a few batches later, or freezes one (SIGSTOP)
// for a few batches; then it checks the output against a sequential model
// of Spark's semantics: a lost or frozen node's work is redone elsewhere,
// and no batch fails or changes.
//
//   nodes_chaos NODE_CHILD [--faults F] [--batches B] [--nodes N]
//               [--seed S] [--no-freeze] [--joins | --receivers
//               [--numbers M] [--mapped]]
//               [--log-level L]
//
// The word graph (`support/word_graph.hpp`, `--word-states`): a windowed
// count over 3 batches and `map_with_state`'s running totals, with the map
// and reduce tasks and the state's partitions on the nodes; each batch's
// output is checked. With --joins, the joined word graph (`--word-joins`):
// each batch's words joined with themselves and counted again, a word's
// count squared, whose second shuffle's map tasks read the join's
// partitions on the nodes. With --receivers, the kept block graph
// (`support::acked_sums`, `--receiver-sums`): a receiver on a node reads
// numbers from a reliable source (`support::acked_source`), with
// `stream.receiver.replication` 2, and its blocks stay on the nodes;
// every number below M (100,000) must reach a batch (a chunk stored but
// not acknowledged when its receiver was killed comes again, as in Spark)
// and each batch's sums by residue must be those of its numbers. There a
// fault waits until no node is faulty and two batches passed since the
// last one came back: two nodes lost at once may hold both copies of a
// block. The faults fall in the first B batches; the run then goes on,
// the nodes back, until every number reached a batch (or 3 batches in a
// row brought none: a stuck receiver), since how many numbers a batch
// gets depends on the machine's speed. With --mapped the numbers' output
// reads them through a map (`--receiver-mapped-sums`), whose partitions
// the nodes that keep the blocks compute (a result stage), with the same
// checks.
//
// Batches are cut on a manual clock, each once the one before completed
// (with --receivers, once the receiver also stored 500 more numbers or
// all of them); a fault lands right after a cut or once the batch started
// (its jobs run), at random. It waits for events, not for time, so that
// its outcome does not depend on the machine's speed. Prints the figures
// (and a JSON line) and exits non-zero if a batch failed or the output
// differs from the model.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/testing.hpp"

#include "support/acked_source.hpp"
#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;

using clock_type = std::chrono::steady_clock;
using counts = std::map<std::string, int64_t>;

namespace {

struct options {
  std::string child;
  int faults = 10;
  size_t batches = 100;
  size_t nodes = 3;
  uint32_t seed = 1;
  bool freeze = true;
  bool receivers = false;
  bool mapped = false;
  bool joins = false;
  int64_t numbers = 100000;
  std::string log_level = "info";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "nodes_chaos: " << why
            << "\nusage: nodes_chaos NODE_CHILD [--faults F] [--batches B] "
               "[--nodes N] [--seed S] [--no-freeze] [--joins | "
               "--receivers [--numbers M] [--mapped]] [--log-level L]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options result;
  if (argc < 2)
    usage("the node program is missing");
  result.child = argv[1];
  if (::access(result.child.c_str(), X_OK) != 0)
    usage(result.child + " is not a program to run: the node program comes "
                         "first");
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-freeze") {
      result.freeze = false;
      continue;
    }
    if (flag == "--receivers") {
      result.receivers = true;
      continue;
    }
    if (flag == "--mapped") {
      result.mapped = true;
      continue;
    }
    if (flag == "--joins") {
      result.joins = true;
      continue;
    }
    if (i + 1 == argc)
      usage(flag + " needs a value");
    std::string value = argv[++i];
    try {
      if (flag == "--faults")
        result.faults = std::stoi(value);
      else if (flag == "--batches")
        result.batches = std::stoul(value);
      else if (flag == "--nodes")
        result.nodes = std::stoul(value);
      else if (flag == "--seed")
        result.seed = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--numbers")
        result.numbers = std::stoll(value);
      else if (flag == "--log-level")
        result.log_level = value;
      else
        usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage(flag + " " + value + " is not a number");
    }
  }
  if (result.faults < 0 || result.batches < 10 || result.nodes < 1
      || result.numbers < 1)
    usage("--faults must not be negative, --batches at least 10, and "
          "--nodes and --numbers at least 1");
  if (result.mapped && !result.receivers)
    usage("--mapped goes with --receivers");
  if (result.joins && result.receivers)
    usage("--joins and --receivers are two graphs: one at a time");
  return result;
}

// The lines of batch `k` (from 1): 2,000 lines of 1 to 6 words out of 300.
std::vector<std::string> lines_of(uint32_t seed, size_t k) {
  std::mt19937 gen{seed * 1000003u + static_cast<uint32_t>(k)};
  std::uniform_int_distribution<int> words{1, 6};
  std::uniform_int_distribution<int> word{0, 299};
  std::vector<std::string> result;
  for (int i = 0; i < 2000; ++i) {
    std::string line;
    for (int n = words(gen); n > 0; --n)
      line += "w" + std::to_string(word(gen)) + " ";
    result.push_back(std::move(line));
  }
  return result;
}

// Spark's semantics, sequentially: each word's count in batch `k` (from 1).
counts model(uint32_t seed, size_t k) {
  counts result;
  for (const auto& line : lines_of(seed, k)) {
    std::istringstream words{line};
    for (std::string w; words >> w;)
      ++result[w];
  }
  return result;
}

// `a` plus `b`, word by word.
counts operator+(counts a, const counts& b) {
  for (const auto& [w, n] : b)
    a[w] += n;
  return a;
}

// Each output's counts of each batch (by its number, from 1).
class collected final : public support::batch_waiter {
public:
  enum output { windowed, totals, squares };

  auto collect(output o) {
    return [this, o](const rdd<test::word_graph::count>& x,
                     caf_stream::time t) {
      auto xs = x.collect();
      std::lock_guard<std::mutex> guard{mtx_};
      auto& batch = counts_[{o, t.milliseconds() / 1000}];
      for (const auto& [w, n] : xs)
        batch[w] += n;
    };
  }

  counts of(output o, size_t k) {
    std::lock_guard<std::mutex> guard{mtx_};
    return counts_[{o, static_cast<int64_t>(k)}];
  }

private:
  std::mutex mtx_;
  std::map<std::pair<output, int64_t>, counts> counts_;
};

// A worker node process serving the graph that `flag` names, on the port
// it got at its first start (a port chosen for it beforehand may be taken,
// as another process's outgoing connection, before the node binds it),
// which a kill leaves down until `recover` runs it again there.
class node {
public:
  node(std::string program, std::string flag)
    : program_(std::move(program)), flag_(std::move(flag)) {
    start();
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  void kill() {
    proc_->kill();
    down_ = true;
  }

  void freeze() {
    proc_->freeze();
    frozen_ = true;
  }

  // Starts a killed node again, resumes a frozen one.
  void recover() {
    if (down_)
      start();
    else if (frozen_)
      proc_->resume();
    down_ = frozen_ = false;
  }

  bool faulty() const noexcept {
    return down_ || frozen_;
  }

  ~node() {
    if (frozen_)
      proc_->resume();
  }

private:
  // Starts the node on its port, or on any free one the first time.
  void start() {
    proc_ = std::make_unique<support::child_process>(std::vector<std::string>{
      program_, flag_, "--port=" + std::to_string(port_)});
    auto line = proc_->read_line();
    if (line.rfind("port ", 0) != 0)
      throw std::runtime_error((port_ == 0 ? std::string{"a node"}
                                           : "the node on port "
                                               + std::to_string(port_))
                               + " did not start: " + line);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
  }

  std::string program_;
  std::string flag_;
  uint16_t port_ = 0;
  std::unique_ptr<support::child_process> proc_;
  bool down_ = false;
  bool frozen_ = false;
};

// The worker nodes and their faults: `opts.faults` of them, each SIGKILL
// or SIGSTOP, the node back 1 to 4 batches later. They go to random
// batches, at most one per batch; with `opts.receivers` one at a time
// instead, 1 to 4 batches after the last is over (see `after_cut`).
class cluster {
public:
  cluster(const options& opts, const std::string& flag)
    : gen_(opts.seed),
      faults_(static_cast<size_t>(opts.faults)),
      one_at_a_time_(opts.receivers) {
    for (size_t i = 0; i < opts.nodes; ++i) {
      nodes_.push_back(std::make_unique<node>(opts.child, flag));
      addresses_.push_back(nodes_.back()->address());
    }
    std::uniform_int_distribution<size_t> pick{2, opts.batches - 1};
    while (!one_at_a_time_ && fault_at_.size() < faults_
           && fault_at_.size() + 2 < opts.batches)
      fault_at_.insert(pick(gen_));
    kill_it_ = std::bernoulli_distribution{opts.freeze ? 0.6 : 1.0};
  }

  const std::vector<std::string>& addresses() const noexcept {
    return addresses_;
  }

  // Brings back the nodes due at batch `k`, before it is cut.
  void before(size_t k) {
    for (auto i : back_at_[k]) {
      nodes_[i]->recover();
      last_back_ = k;
    }
    back_at_.erase(k);
  }

  // Strikes a node if batch `k`, just cut, is one of the faults', at once
  // or after `started()` (which waits until the batch started). One at a
  // time, that is the first batch at least two after the last node came
  // back, plus 0 to 3.
  template <class Started>
  void after_cut(size_t k, Started started) {
    std::uniform_int_distribution<size_t> down_for{1, 4};
    if (one_at_a_time_) {
      auto busy = std::any_of(nodes_.begin(), nodes_.end(),
                              [](const auto& n) { return n->faulty(); });
      if (busy || kills + freezes == faults_ || k < last_back_ + 2)
        return;
      if (fault_at_.empty())
        fault_at_.insert(k + down_for(gen_) - 1);
    }
    if (fault_at_.erase(k) == 0)
      return;
    std::uniform_int_distribution<size_t> which{0, nodes_.size() - 1};
    std::bernoulli_distribution at_once{0.5};
    auto i = which(gen_);
    if (!at_once(gen_))
      started();
    if (nodes_[i]->faulty())
      return;
    auto kill = kill_it_(gen_);
    if (kill) {
      nodes_[i]->kill();
      ++kills;
    } else {
      nodes_[i]->freeze();
      ++freezes;
    }
    std::printf("nodes_chaos: batch %zu: %s the node %s\n", k,
                kill ? "killed" : "froze", addresses_[i].c_str());
    std::fflush(stdout);
    back_at_[k + down_for(gen_)].push_back(i);
  }

  // Ends the faults: the faulty nodes come back, and no node is struck
  // again.
  void end_faults() {
    for (auto& x : nodes_)
      x->recover();
    fault_at_.clear();
    back_at_.clear();
    faults_ = kills + freezes;
  }

  size_t kills = 0;
  size_t freezes = 0;

private:
  std::mt19937 gen_;
  size_t faults_;
  bool one_at_a_time_;
  std::bernoulli_distribution kill_it_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<std::string> addresses_;
  std::set<size_t> fault_at_;
  std::map<size_t, std::vector<size_t>> back_at_;
  size_t last_back_ = 0;
};

// The driver's options with the nodes of `c`.
stream_options driver_options(const cluster& c) {
  auto cfg = testing::default_test_options();
  cfg.workers = 2;
  cfg.state_nodes = c.addresses();
  cfg.tasks = task_placement::workers;
  // A frozen node's state calls are given up on after 3 s.
  cfg.state_timeout = duration{3000};
  cfg.app_id = "state-node-tests";
  return cfg;
}

// How long each batch took from its cut, in ms, sorted.
class batch_times {
public:
  void cut() {
    cut_ = clock_type::now();
  }

  void done() {
    ms_.push_back(
      std::chrono::duration<double, std::milli>(clock_type::now() - cut_)
        .count());
  }

  double median() {
    std::sort(ms_.begin(), ms_.end());
    return ms_.empty() ? 0 : ms_[ms_.size() / 2];
  }

  double worst() {
    return ms_.empty() ? 0 : *std::max_element(ms_.begin(), ms_.end());
  }

private:
  clock_type::time_point cut_;
  std::vector<double> ms_;
};

// What a run found.
struct findings {
  size_t batches = 0;
  std::vector<std::string> failures;
  // Batches (or numbers) that differ from the model.
  size_t wrong = 0;
  batch_times times;
  // The executors added ("+id") and removed ("-id") as the listeners heard,
  // and the tasks each ran.
  std::vector<std::string> executors;
  std::map<std::string, executor_tasks> tasks;

  // Takes what `out` heard.
  void take(support::batch_waiter& out) {
    failures = out.failures();
    executors = out.executors();
    tasks = out.tasks();
  }

  // Whether each executor was added before it was removed, and removed
  // before it was added again.
  bool executors_in_order() const {
    std::map<std::string, bool> active;
    for (const auto& x : executors) {
      auto added = x.front() == '+';
      auto& was = active[x.substr(1)];
      if (was == added)
        return false;
      was = added;
    }
    return true;
  }
};

// Counts the batches that started, and lets a caller wait for one.
class started_batches final : public streaming_listener {
public:
  void on_batch_started(const batch_info&) override {
    std::lock_guard<std::mutex> guard{mtx_};
    ++started_;
    cv_.notify_all();
  }

  // Waits (60 s at most, a bound for a stuck run) until `k` batches
  // started.
  void wait_for(size_t k) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, std::chrono::seconds(60),
                 [&] { return started_ >= k; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  size_t started_ = 0;
};

// Cuts batch `k` on `clk`, lets `c` strike and waits for the batch (`out`
// counts them, `started` those that started), timing it.
void run_batch(cluster& c, size_t k, testing::manual_clock& clk,
               support::batch_waiter& out, started_batches& started,
               batch_times& times) {
  times.cut();
  clk.advance(std::chrono::seconds(1));
  c.after_cut(k, [&] { started.wait_for(k); });
  out.wait_for(k, std::chrono::seconds(300));
  times.done();
}

// The word graph's run; checks each batch's windowed counts and totals, or
// with --joins its squared counts.
findings run_words(const options& opts, cluster& c) {
  findings result;
  auto clk = std::make_shared<testing::manual_clock>();
  auto lines = std::make_shared<rdd_queue<std::string>>();
  auto out = std::make_shared<collected>();
  testing::temporary_directory dir;
  streaming_context ssc{std::chrono::seconds(1), driver_options(c), clk};
  ssc.checkpoint(dir.path());
  if (opts.joins) {
    test::word_graph::build_joined(ssc, lines)
      .foreach_rdd(out->collect(collected::squares));
  } else {
    auto g = test::word_graph::build_stateful(ssc, lines);
    g.windowed.foreach_rdd(out->collect(collected::windowed));
    g.totals.foreach_rdd(out->collect(collected::totals));
  }
  auto started = std::make_shared<started_batches>();
  ssc.add_streaming_listener(out);
  ssc.add_streaming_listener(started);
  ssc.start();
  for (size_t k = 1; k <= opts.batches; ++k) {
    c.before(k);
    lines->push(parallelize(lines_of(opts.seed, k), 4));
    run_batch(c, k, *clk, *out, *started, result.times);
  }
  ssc.stop(false);
  result.batches = opts.batches;
  result.take(*out);
  // The window holds the last 3 batches; the totals, all so far.
  std::vector<counts> batch{counts{}};
  counts totals;
  for (size_t k = 1; k <= opts.batches; ++k) {
    batch.push_back(model(opts.seed, k));
    if (opts.joins) {
      // A word's pairs of occurrences in the batch.
      auto squares = batch[k];
      for (auto& [w, n] : squares)
        n *= n;
      if (out->of(collected::squares, k) != squares) {
        ++result.wrong;
        std::printf("nodes_chaos: batch %zu: the squared counts differ from "
                    "the model\n",
                    k);
      }
      continue;
    }
    totals = totals + batch[k];
    auto windowed = batch[k];
    for (size_t j = k > 2 ? k - 2 : 1; j < k; ++j)
      windowed = windowed + batch[j];
    auto windowed_ok = out->of(collected::windowed, k) == windowed;
    auto totals_ok = out->of(collected::totals, k) == totals;
    if (!windowed_ok || !totals_ok) {
      ++result.wrong;
      std::printf("nodes_chaos: batch %zu: %s differ from the model\n", k,
                  !windowed_ok ? "the windowed counts" : "the totals");
    }
  }
  return result;
}

// Each batch's numbers and sums by residue (`support::acked_sums`).
class receiver_output final : public support::batch_waiter {
public:
  void numbers(const rdd<int64_t>& x, caf_stream::time t) {
    auto xs = x.collect();
    std::lock_guard<std::mutex> guard{mtx_};
    auto& batch = numbers_[t.milliseconds()];
    batch.insert(batch.end(), xs.begin(), xs.end());
  }

  void sums(const rdd<support::residue_sum>& x, caf_stream::time t) {
    auto xs = x.collect();
    std::lock_guard<std::mutex> guard{mtx_};
    auto& batch = sums_[t.milliseconds()];
    for (const auto& [r, sum] : xs)
      batch[r] += sum;
  }

  // Each batch's numbers, by batch time.
  std::map<int64_t, std::vector<int64_t>> numbers() {
    std::lock_guard<std::mutex> guard{mtx_};
    return numbers_;
  }

  // Each batch's sums by residue, by batch time.
  std::map<int64_t, std::map<int64_t, int64_t>> sums() {
    std::lock_guard<std::mutex> guard{mtx_};
    return sums_;
  }

  // How many of the numbers below `n` reached a batch.
  int64_t reached(int64_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::set<int64_t> seen;
    for (const auto& [t, xs] : numbers_)
      for (auto x : xs)
        if (x < n)
          seen.insert(x);
    return static_cast<int64_t>(seen.size());
  }

private:
  std::mutex mtx_;
  std::map<int64_t, std::vector<int64_t>> numbers_;
  std::map<int64_t, std::map<int64_t, int64_t>> sums_;
};

// The receiver graph's run: `opts.batches` batches with the faults, or
// fewer if every number reached one by then; then, the nodes back, more
// until every number reached a batch, or none did in 3 batches in a row
// (a stuck receiver). Checks that none was lost and each batch's sums.
findings run_receivers(const options& opts, cluster& c,
                       support::acked_source& source, int64_t total,
                       size_t& duplicates) {
  findings result;
  auto clk = std::make_shared<testing::manual_clock>();
  auto out = std::make_shared<receiver_output>();
  auto cfg = driver_options(c);
  cfg.receiver_replication = 2;
  streaming_context ssc{std::chrono::seconds(1), cfg, clk};
  support::acked_sums(
    ssc, source.port(),
    [out](const rdd<int64_t>& x, caf_stream::time t) { out->numbers(x, t); },
    [out](const rdd<support::residue_sum>& x, caf_stream::time t) {
      out->sums(x, t);
    },
    opts.mapped);
  auto started = std::make_shared<started_batches>();
  ssc.add_streaming_listener(out);
  ssc.add_streaming_listener(started);
  ssc.start();
  // Cuts the next batch once 500 more numbers were acknowledged; the
  // wait's bound is for a receiver that moves between nodes, not a timing
  // assumption.
  size_t k = 0;
  auto next_batch = [&] {
    ++k;
    c.before(k);
    source.wait_acked(std::min(source.acked() + 500, total),
                      std::chrono::seconds(10));
    run_batch(c, k, *clk, *out, *started, result.times);
  };
  while (k < opts.batches && out->reached(total) < total)
    next_batch();
  // How many numbers reach the batches depends on the machine's speed, not
  // how many batches they take: the rest come after the faults.
  c.end_faults();
  for (auto [idle, got] = std::pair{0, out->reached(total)};
       idle < 3 && got < total;) {
    next_batch();
    auto now = out->reached(total);
    idle = now == got ? idle + 1 : 0;
    got = now;
  }
  ssc.stop(false);
  result.batches = k;
  result.take(*out);
  std::map<int64_t, size_t> seen;
  for (const auto& [t, xs] : out->numbers()) {
    std::map<int64_t, int64_t> sums;
    for (auto x : xs) {
      ++seen[x];
      sums[x % 4] += x;
    }
    if (out->sums()[t] != sums) {
      ++result.wrong;
      std::printf("nodes_chaos: batch %lld ms: the sums differ from its "
                  "numbers'\n",
                  static_cast<long long>(t));
    }
  }
  // The numbers that reached no batch, as ranges.
  for (int64_t x = 0; x < total; ++x) {
    if (seen[x] > 0) {
      duplicates += seen[x] - 1;
      continue;
    }
    auto last = x;
    while (last + 1 < total && seen[last + 1] == 0)
      ++last;
    result.wrong += static_cast<size_t>(last - x + 1);
    std::printf("nodes_chaos: the numbers %lld to %lld reached no batch (the "
                "receiver acknowledged those below %lld)\n",
                static_cast<long long>(x), static_cast<long long>(last),
                static_cast<long long>(source.acked()));
    x = last;
  }
  return result;
}

// Runs the faults and the batches `opts` asks for and prints the figures;
// returns the program's exit status.
int run(const options& opts) {
  auto total = opts.numbers;
  auto t0 = clock_type::now();
  // The receiver's source: numbers 0 to `total`, in lines of 50.
  std::optional<support::acked_source> source;
  std::string graph = opts.joins ? "--word-joins" : "--word-states";
  if (opts.receivers) {
    source.emplace(total, 50, total);
    graph = (opts.mapped ? "--receiver-mapped-sums=" : "--receiver-sums=")
            + std::to_string(source->port());
  }
  cluster c{opts, graph};
  size_t duplicates = 0;
  auto f = opts.receivers ? run_receivers(opts, c, *source, total, duplicates)
                          : run_words(opts, c);
  auto seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  for (const auto& why : f.failures)
    std::printf("nodes_chaos: a batch failed: %s\n", why.c_str());
  std::printf("nodes_chaos: %zu batches on %zu worker nodes in %.1f s, %zu "
              "kills and %zu freezes: %zu failed, %zu differ from the model",
              f.batches, opts.nodes, seconds, c.kills, c.freezes,
              f.failures.size(), f.wrong);
  if (opts.receivers)
    std::printf(" (%lld numbers, %zu came twice)",
                static_cast<long long>(total), duplicates);
  auto median = f.times.median();
  auto worst = f.times.worst();
  std::printf("; batch time median %.0f ms, worst %.0f ms\n", median, worst);
  int64_t completed = 0;
  int64_t failed = 0;
  for (const auto& [id, n] : f.tasks) {
    completed += n.completed;
    failed += n.failed;
  }
  auto in_order = f.executors_in_order();
  std::printf("nodes_chaos: %zu executor events (added and removed, each "
              "executor's %s), %lld tasks completed and %lld failed\n",
              f.executors.size(), in_order ? "in order" : "OUT OF ORDER",
              static_cast<long long>(completed),
              static_cast<long long>(failed));
  std::printf("{\"graph\": \"%s\", \"batches\": %zu, \"nodes\": %zu, "
              "\"kills\": %zu, \"freezes\": %zu, \"failed\": %zu, "
              "\"wrong\": %zu, \"duplicates\": %zu, "
              "\"median_batch_ms\": %.0f, \"worst_batch_ms\": %.0f, "
              "\"executor_events\": %zu, \"executors_in_order\": %s, "
              "\"tasks_completed\": %lld, \"tasks_failed\": %lld}\n",
              opts.receivers ? "receivers" : opts.joins ? "joins" : "words",
              f.batches, opts.nodes,
              c.kills, c.freezes, f.failures.size(), f.wrong, duplicates,
              median, worst, f.executors.size(), in_order ? "true" : "false",
              static_cast<long long>(completed),
              static_cast<long long>(failed));
  return f.failures.empty() && f.wrong == 0 && in_order ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  try {
    set_log_level(opts.log_level);
  } catch (const std::exception& e) {
    usage(e.what());
  }
  try {
    return run(opts);
  } catch (const std::exception& e) {
    std::cerr << "nodes_chaos: " << e.what() << '\n';
    return 1;
  }
}
