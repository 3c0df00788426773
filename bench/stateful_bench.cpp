// Stateful workloads through the full runtime, each beside a hand-written
// single-threaded baseline that computes the same answer in the same run:
//
// - windowed word count: counts over a 30-batch window sliding every batch,
//   incremental (reduce_by_key_and_window with the inverse function);
// - running word count: update_state_by_key and map_with_state;
// - per-batch cost as the state grows (10k, 100k, 1M keys) while batches
//   stay small: map_with_state visits the batch's keys, update_state_by_key
//   every key in the state.
//
// With --state-node, the running counts also run with their state holders
// on a state node: this program again, as a child process serving state on
// 127.0.0.1 (`--serve-state=usbk|mws`), so every batch's partitions and
// results cross a TCP connection as bytes.
//
// Prints one line per figure and a JSON record per workload.
//
//   stateful_bench [--lines=N] [--batches=B] [--workers=W] [--max-state=K]
//                  [--state-node]

#include <cstdio>
#include <deque>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"

#include "caf_stream/actors/stream_config.hpp"

#include "bench_support.hpp"
#include "support/child_process.hpp"

using namespace caf_stream;
using bench::seconds_since;
using bench::steady;

namespace {

using count = std::pair<std::string, int64_t>;
using counts = std::unordered_map<std::string, int64_t>;

constexpr size_t window_batches = 30;

int64_t plus(int64_t a, int64_t b) {
  return a + b;
}

int64_t minus(int64_t a, int64_t b) {
  return a - b;
}

counts count_words(const std::vector<std::string>& lines) {
  counts result;
  for (const auto& line : lines)
    for (auto& w : bench::split(line))
      ++result[w];
  return result;
}

int64_t total(const counts& xs) {
  int64_t n = 0;
  for (auto& kv : xs)
    n += kv.second;
  return n;
}

struct figures {
  double baseline_s;
  double engine_s;
  bool agree;
};

void report(const char* workload, const char* engine, size_t records,
            const figures& f, const stream_options& opts) {
  auto base_rate = static_cast<double>(records) / f.baseline_s;
  auto engine_rate = static_cast<double>(records) / f.engine_s;
  std::printf("%s: baseline (1 thread) %.0f lines/s, %s (%zu workers) %.0f "
              "lines/s, ratio %.2f, answers agree: %s\n",
              workload, base_rate, engine, opts.workers, engine_rate,
              engine_rate / base_rate, f.agree ? "yes" : "NO");
  std::printf("{\"workload\":\"%s\",\"engine\":\"%s\",\"workers\":%zu,"
              "\"records\":%zu,\"baseline_lines_per_s\":%.0f,"
              "\"engine_lines_per_s\":%.0f,\"ratio\":%.3f,"
              "\"answers_agree\":%s}\n",
              workload, engine, opts.workers, records, base_rate, engine_rate,
              engine_rate / base_rate, f.agree ? "true" : "false");
}

std::optional<int64_t> add_up(const std::vector<int64_t>& xs,
                              std::optional<int64_t> st) {
  auto n = st.value_or(0);
  for (auto x : xs)
    n += x;
  return n;
}

dstream<count> running_usbk(const dstream<count>& s) {
  return s.update_state_by_key(add_up);
}

dstream<count> running_mws(const dstream<count>& s) {
  auto f = [](const std::string& w, std::optional<int64_t> x,
              state<int64_t>& st) {
    st.update(st.get_option().value_or(0) + x.value_or(0));
    return count{w, st.get()};
  };
  return s.map_with_state(state_spec::function(f)).state_snapshots();
}

// The word pairs of the running workloads' input.
dstream<count> word_pairs(streaming_context& ssc,
                          std::shared_ptr<rdd_queue<std::string>> queue) {
  return ssc.queue_stream(std::move(queue)).flat_map(bench::split).map(
    [](const std::string& w) { return count{w, 1}; });
}

// The input of batch `b` (eight distinct batches, cycled).
const std::vector<std::string>&
batch_lines(const std::vector<std::vector<std::string>>& batches, size_t b) {
  return batches[b % batches.size()];
}

// Runs `build(word pairs)` over the batches; returns the processing time and
// the sum of the counts of the last batch's output.
template <class Build>
std::pair<double, int64_t>
run_engine(const std::vector<std::vector<std::string>>& batches,
           size_t num_batches, const stream_options& opts, Build build) {
  bench::driver d{opts};
  auto& ssc = d.context();
  auto queue = std::make_shared<rdd_queue<std::string>>();
  for (size_t b = 0; b < num_batches; ++b)
    queue->push(parallelize(batch_lines(batches, b), opts.default_parallelism));
  int64_t last_total = 0;
  build(word_pairs(ssc, queue)).foreach_rdd([&](const rdd<count>& r) {
    last_total = bench::sum_counts(r);
    d.batch_done();
  });
  ssc.start();
  auto engine_s = d.run(num_batches);
  ssc.stop();
  return {engine_s, last_total};
}

figures windowed(const std::vector<std::vector<std::string>>& batches,
                 size_t num_batches, const stream_options& opts) {
  // Baseline: per-batch counts, added when they enter the window and
  // subtracted when they leave it.
  auto t0 = steady::now();
  counts window;
  std::deque<counts> in_window;
  int64_t baseline_total = 0;
  for (size_t b = 0; b < num_batches; ++b) {
    in_window.push_back(count_words(batch_lines(batches, b)));
    for (auto& kv : in_window.back())
      window[kv.first] += kv.second;
    if (in_window.size() > window_batches) {
      for (auto& kv : in_window.front())
        if ((window[kv.first] -= kv.second) == 0)
          window.erase(kv.first);
      in_window.pop_front();
    }
    baseline_total = total(window);
  }
  auto baseline_s = seconds_since(t0);
  auto [engine_s, engine_total] = run_engine(
    batches, num_batches, opts, [](const dstream<count>& s) {
      return s.reduce_by_key_and_window(
        plus, minus, std::chrono::seconds(window_batches),
        std::chrono::seconds(1), 0,
        [](const count& x) { return x.second != 0; });
    });
  return {baseline_s, engine_s, baseline_total == engine_total};
}

template <class Build>
figures running(const std::vector<std::vector<std::string>>& batches,
                size_t num_batches, const stream_options& opts, Build build) {
  auto t0 = steady::now();
  counts totals;
  for (size_t b = 0; b < num_batches; ++b)
    for (auto& kv : count_words(batch_lines(batches, b)))
      totals[kv.first] += kv.second;
  auto baseline_total = total(totals);
  auto baseline_s = seconds_since(t0);
  auto [engine_s, engine_total] = run_engine(batches, num_batches, opts, build);
  return {baseline_s, engine_s, baseline_total == engine_total};
}

// This program as a state node for a running workload's graph, on
// 127.0.0.1: serves until its standard input closes (or it is killed).
int serve_state(const std::string& kind) {
  caf_stream::stream_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  streaming_context ssc{sys, std::chrono::seconds(1)};
  auto pairs = word_pairs(ssc, std::make_shared<rdd_queue<std::string>>());
  (kind == "usbk" ? running_usbk(pairs) : running_mws(pairs)).print();
  std::cout << "port " << ssc.serve_state(0, "127.0.0.1") << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    // nop
  }
  ssc.stop();
  return 0;
}

// A state node: this program as a child process (`--serve-state=kind`),
// killed with the object.
struct state_node {
  state_node(const char* self, const std::string& kind)
    : proc({self, "--serve-state=" + kind}) {
    auto line = proc.read_line();
    if (line.rfind("port ", 0) != 0)
      throw std::runtime_error("the state node did not start: " + line);
    address = "127.0.0.1:" + line.substr(5);
  }

  support::child_process proc;
  std::string address;
};

// Average processing time of a small batch (1000 records, half of them on
// keys already in the state) with `state_keys` keys in the state.
template <class Build>
double per_batch_cost(size_t state_keys, const stream_options& opts,
                      Build build) {
  constexpr size_t measured = 5;
  std::vector<count> initial;
  initial.reserve(state_keys);
  for (size_t i = 0; i < state_keys; ++i)
    initial.emplace_back("k" + std::to_string(i), 1);
  bench::driver d{opts};
  auto& ssc = d.context();
  auto queue = std::make_shared<rdd_queue<count>>();
  uint64_t seed = 11;
  for (size_t b = 0; b <= measured; ++b) {
    std::vector<count> batch;
    for (size_t i = 0; i < 1000; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      auto k = (seed >> 33) % (2 * state_keys);
      batch.emplace_back("k" + std::to_string(k), 1);
    }
    queue->push(parallelize(std::move(batch), opts.default_parallelism));
  }
  build(ssc.queue_stream(queue),
        parallelize(std::move(initial), opts.default_parallelism))
    .foreach_rdd([&](const rdd<count>&) { d.batch_done(); });
  ssc.start();
  d.next(); // The first batch loads the initial state.
  auto sum = d.run(measured);
  ssc.stop();
  return sum / measured;
}

} // namespace

int main(int argc, char** argv) {
  // --serve-state is how the bench starts its state node.
  bench::check_args(argc, argv,
                    "stateful_bench [--lines=N] [--batches=B] [--workers=W] "
                    "[--partitions=P] [--max-state=K] [--state-node]",
                    {"lines", "batches", "workers", "partitions", "max-state",
                     "state-node", "serve-state"});
  if (auto kind = bench::arg_text(argc, argv, "serve-state", ""); !kind.empty())
    return serve_state(kind);
  auto num_lines = bench::arg(argc, argv, "lines", 20000);
  auto num_batches = bench::arg(argc, argv, "batches", 40);
  auto max_state = bench::arg(argc, argv, "max-state", 1000000);
  auto opts = bench::options();
  opts.workers = bench::arg(argc, argv, "workers", 2);
  opts.default_parallelism = bench::arg(argc, argv, "partitions", opts.workers);
  std::vector<std::vector<std::string>> batches;
  for (uint64_t seed = 1; seed <= 8; ++seed)
    batches.push_back(bench::make_lines(num_lines, 10000, seed));
  auto records = num_lines * num_batches;

  report("windowed_word_count", "reduce_by_key_and_window", records,
         windowed(batches, num_batches, opts), opts);
  report("running_word_count", "update_state_by_key", records,
         running(batches, num_batches, opts, running_usbk), opts);
  report("running_word_count", "map_with_state", records,
         running(batches, num_batches, opts, running_mws), opts);
  if (bench::has_flag(argc, argv, "state-node")) {
    // The batches' lines are the driver's (a queue stream): with the map
    // tasks on the node (the default) they cross to the node first.
    for (auto kind : {"usbk", "mws"}) {
      for (auto tasks : {task_placement::driver, task_placement::workers}) {
        state_node node{argv[0], kind};
        auto remote = opts;
        remote.state_nodes = {node.address};
        remote.tasks = tasks;
        auto usbk = std::string{kind} == "usbk";
        std::string engine = usbk ? "update_state_by_key" : "map_with_state";
        engine += tasks == task_placement::driver
                    ? ", state on a state node"
                    : ", state and map tasks on a state node";
        report("running_word_count", engine.c_str(), records,
               running(batches, num_batches, remote,
                       usbk ? running_usbk : running_mws),
               remote);
      }
    }
  }

  for (size_t keys = 10000; keys <= max_state; keys *= 10) {
    auto usbk = per_batch_cost(keys, opts, [](dstream<count> s, rdd<count> init) {
      return s.update_state_by_key<int64_t>(add_up, 0, init);
    });
    auto mws = per_batch_cost(keys, opts, [](dstream<count> s, rdd<count> init) {
      auto f = [](const std::string& w, std::optional<int64_t> x,
                  state<int64_t>& st) {
        st.update(st.get_option().value_or(0) + x.value_or(0));
        return count{w, st.get()};
      };
      return s.map_with_state(state_spec::function(f).initial_state(init));
    });
    std::printf("state of %zu keys, batches of 1000 records: "
                "update_state_by_key %.2f ms/batch, map_with_state %.2f "
                "ms/batch (%.1fx)\n",
                keys, usbk * 1000, mws * 1000, usbk / mws);
    std::printf("{\"workload\":\"state_growth\",\"state_keys\":%zu,"
                "\"batch_records\":1000,\"update_state_by_key_ms\":%.3f,"
                "\"map_with_state_ms\":%.3f}\n",
                keys, usbk * 1000, mws * 1000);
  }
  return 0;
}
