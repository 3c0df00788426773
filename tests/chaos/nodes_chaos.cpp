// The chaos run of a cluster: a driver (this program) and worker nodes
// (`state_node_child --word-states`) run the stateful word graph
// (`support/word_graph.hpp`: a windowed count over 3 batches and
// `map_with_state`'s running totals), with the map and reduce tasks and the
// state's partitions on the nodes. While batches run, it SIGKILLs a node at
// a random moment and starts it again on its port a few batches later, or
// freezes one (SIGSTOP) for a few batches; then it checks every batch's
// output against a sequential model of Spark's semantics: a lost or frozen
// node's work is redone elsewhere and no batch fails or changes.
//
//   nodes_chaos NODE_CHILD [--faults F] [--batches B] [--nodes N]
//               [--seed S] [--no-freeze] [--log-level L]
//
// Batches are cut on a manual clock, each once the one before completed;
// a fault lands 0-20 ms after a cut, while the batch's tasks or state
// calls run. Prints the figures (and a JSON line) and exits non-zero if a
// batch failed or an output differs from the model.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_waiter.hpp"
#include "support/child_process.hpp"
#include "support/ports.hpp"
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
  std::string log_level = "info";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "nodes_chaos: " << why
            << "\nusage: nodes_chaos NODE_CHILD [--faults F] [--batches B] "
               "[--nodes N] [--seed S] [--no-freeze] [--log-level L]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options result;
  if (argc < 2)
    usage("the node program is missing");
  result.child = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-freeze") {
      result.freeze = false;
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
      else if (flag == "--log-level")
        result.log_level = value;
      else
        usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage(flag + " " + value + " is not a number");
    }
  }
  if (result.faults < 0 || result.batches < 10 || result.nodes < 1)
    usage("--faults must not be negative, --batches at least 10 and "
          "--nodes at least 1");
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
  enum output { windowed, totals };

  auto collect(output o) {
    return [this, o](const rdd<test::word_graph::count>& x, caf_stream::time t) {
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

// A worker node process on a fixed port, which a kill leaves down until
// `start` runs it again there.
class node {
public:
  node(std::string program, uint16_t port)
    : program_(std::move(program)), port_(port) {
    start();
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  void start() {
    proc_ = std::make_unique<support::child_process>(std::vector<std::string>{
      program_, "--word-states", "--port=" + std::to_string(port_)});
    auto line = proc_->read_line();
    if (line.rfind("port ", 0) != 0)
      throw std::runtime_error("the node on port " + std::to_string(port_)
                               + " did not start: " + line);
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
  std::string program_;
  uint16_t port_;
  std::unique_ptr<support::child_process> proc_;
  bool down_ = false;
  bool frozen_ = false;
};

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  try {
    set_log_level(opts.log_level);
  } catch (const std::exception& e) {
    usage(e.what());
  }
  std::mt19937 gen{opts.seed};
  std::vector<std::unique_ptr<node>> nodes;
  std::vector<std::string> addresses;
  for (size_t i = 0; i < opts.nodes; ++i) {
    auto port = static_cast<uint16_t>(support::free_port());
    nodes.push_back(std::make_unique<node>(opts.child, port));
    addresses.push_back(nodes.back()->address());
  }
  auto cfg = testing::default_test_options();
  cfg.workers = 2;
  cfg.state_nodes = addresses;
  cfg.tasks = task_placement::workers;
  // A frozen node's state calls are given up on after 3 s.
  cfg.state_timeout = duration{3000};
  cfg.app_id = "state-node-tests";
  auto clk = std::make_shared<testing::manual_clock>();
  auto lines = std::make_shared<rdd_queue<std::string>>();
  auto out = std::make_shared<collected>();
  testing::temporary_directory dir;
  streaming_context ssc{std::chrono::seconds(1), cfg, clk};
  ssc.checkpoint(dir.path());
  auto g = test::word_graph::build_stateful(ssc, lines);
  g.windowed.foreach_rdd(out->collect(collected::windowed));
  g.totals.foreach_rdd(out->collect(collected::totals));
  ssc.add_streaming_listener(out);
  ssc.start();
  // Faults go to batches at random, at most one per batch; a node comes
  // back 1 to 4 batches after its fault.
  std::vector<size_t> fault_batches;
  {
    std::uniform_int_distribution<size_t> pick{2, opts.batches - 1};
    std::vector<bool> taken(opts.batches + 1, false);
    for (int i = 0; i < opts.faults && fault_batches.size() + 2 < opts.batches;
         ++i) {
      size_t k;
      do {
        k = pick(gen);
      } while (taken[k]);
      taken[k] = true;
      fault_batches.push_back(k);
    }
  }
  std::uniform_int_distribution<int> delay_ms{0, 20};
  std::uniform_int_distribution<size_t> down_for{1, 4};
  std::uniform_int_distribution<size_t> which{0, opts.nodes - 1};
  std::bernoulli_distribution kill_it{opts.freeze ? 0.6 : 1.0};
  std::map<size_t, std::vector<size_t>> back_at; // batch -> nodes
  size_t kills = 0;
  size_t freezes = 0;
  std::vector<double> batch_ms;
  auto t0 = clock_type::now();
  for (size_t k = 1; k <= opts.batches; ++k) {
    for (auto i : back_at[k])
      nodes[i]->recover();
    back_at.erase(k);
    lines->push(parallelize(lines_of(opts.seed, k), 4));
    auto cut = clock_type::now();
    clk->advance(std::chrono::seconds(1));
    if (std::count(fault_batches.begin(), fault_batches.end(), k) > 0) {
      auto i = which(gen);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(gen)));
      if (!nodes[i]->faulty()) {
        if (kill_it(gen)) {
          nodes[i]->kill();
          ++kills;
          std::printf("nodes_chaos: batch %zu: killed the node %s\n", k,
                      addresses[i].c_str());
        } else {
          nodes[i]->freeze();
          ++freezes;
          std::printf("nodes_chaos: batch %zu: froze the node %s\n", k,
                      addresses[i].c_str());
        }
        std::fflush(stdout);
        back_at[k + down_for(gen)].push_back(i);
      }
    }
    out->wait_for(k, std::chrono::seconds(300));
    batch_ms.push_back(
      std::chrono::duration<double, std::milli>(clock_type::now() - cut)
        .count());
  }
  auto seconds
    = std::chrono::duration<double>(clock_type::now() - t0).count();
  ssc.stop(false);
  // The window holds the last 3 batches; the totals, all so far.
  size_t wrong = 0;
  std::vector<counts> batch{counts{}};
  counts totals;
  for (size_t k = 1; k <= opts.batches; ++k) {
    batch.push_back(model(opts.seed, k));
    totals = totals + batch[k];
    auto windowed = batch[k];
    for (size_t j = k > 2 ? k - 2 : 1; j < k; ++j)
      windowed = windowed + batch[j];
    auto windowed_ok = out->of(collected::windowed, k) == windowed;
    auto totals_ok = out->of(collected::totals, k) == totals;
    if (!windowed_ok || !totals_ok) {
      ++wrong;
      std::printf("nodes_chaos: batch %zu: %s differ from the model\n", k,
                  !windowed_ok ? "the windowed counts" : "the totals");
    }
  }
  auto failures = out->failures();
  for (const auto& why : failures)
    std::printf("nodes_chaos: a batch failed: %s\n", why.c_str());
  std::sort(batch_ms.begin(), batch_ms.end());
  auto worst = batch_ms.back();
  auto median = batch_ms[batch_ms.size() / 2];
  std::printf("nodes_chaos: %zu batches on %zu worker nodes in %.1f s, %zu "
              "kills and %zu freezes: %zu failed, %zu differ from the model; "
              "batch time median %.0f ms, worst %.0f ms\n",
              opts.batches, opts.nodes, seconds, kills, freezes,
              failures.size(), wrong, median, worst);
  std::printf("{\"batches\": %zu, \"nodes\": %zu, \"kills\": %zu, "
              "\"freezes\": %zu, \"failed\": %zu, \"wrong\": %zu, "
              "\"median_batch_ms\": %.0f, \"worst_batch_ms\": %.0f}\n",
              opts.batches, opts.nodes, kills, freezes, failures.size(),
              wrong, median, worst);
  return failures.empty() && wrong == 0 ? 0 : 1;
}
