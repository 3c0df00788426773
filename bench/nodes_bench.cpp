// WordCount with its map stages on worker nodes, against one process, in
// the same run (issue 16's "harness --nodes=2"): batches of --lines
// 100-byte lines of a 1000-word vocabulary (`make_lines`) in --partitions
// partitions go through a queue stream, flat_map, map and reduce_by_key, in
// one process with --workers task slots, and in a driver whose map stages
// run on 2 worker node processes (this program with --serve, one task slot
// each) over CAF's middleman on 127.0.0.1 (`stream.task.placement =
// workers`). Every batch's counts are checked against the words pushed.
// Prints lines/s of both, their ratio, and the bytes a map stage moves per
// word (the batch's input to each node, the buckets back).
//
//   nodes_bench [--lines=100000] [--batches=10] [--partitions=4]
//               [--workers=2] [--repeats=3]

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/testing.hpp"

#include "args.hpp"
#include "bench_support.hpp"
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

// The words each batch counted, and the wait for a batch.
class totals final : public support::batch_waiter {
public:
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
  std::vector<int64_t> words_;
};

// This program as a worker node: serves the graph until its standard input
// closes.
int serve(size_t partitions) {
  stream_config cfg;
  cfg.set("stream.app-id", app_id);
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  streaming_context ssc{sys, std::chrono::seconds(1)};
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

// Runs `batches` batches of `lines` (in `partitions` partitions) through the
// word count, with its map stages on `nodes` if any; returns the seconds
// from the first batch to the last one's end.
double run(const std::vector<std::string>& lines, size_t batches,
           size_t partitions, size_t workers,
           std::vector<std::string> nodes) {
  auto opts = bench::options();
  opts.workers = workers;
  opts.app_id = app_id;
  if (!nodes.empty()) {
    opts.state_nodes = std::move(nodes);
    opts.tasks = task_placement::workers;
  }
  auto clk = std::make_shared<testing::manual_clock>();
  auto queue = std::make_shared<rdd_queue<std::string>>();
  auto out = std::make_shared<totals>();
  streaming_context ssc{std::chrono::seconds(1), opts, clk};
  word_counts(ssc.queue_stream(queue), partitions)
    .foreach_rdd([out](const rdd<count>& x) {
      auto counts = x.collect();
      out->add(std::accumulate(
        counts.begin(), counts.end(), int64_t{0},
        [](int64_t n, const count& c) { return n + c.second; }));
    });
  ssc.add_streaming_listener(out);
  ssc.start();
  auto t0 = steady::now();
  for (size_t k = 1; k <= batches; ++k) {
    queue->push(parallelize(lines, partitions));
    clk->advance(std::chrono::seconds(1));
    out->wait_for(k, std::chrono::seconds(300));
  }
  auto elapsed = seconds_since(t0);
  ssc.stop(false);
  int64_t expected = 0;
  for (const auto& line : lines)
    expected += static_cast<int64_t>(bench::split(line).size());
  auto words = out->words();
  if (!out->failures().empty() || words.size() != batches
      || std::any_of(words.begin(), words.end(),
                     [&](int64_t n) { return n != expected; }))
    throw std::runtime_error("the counts are wrong"
                             + (out->failures().empty()
                                  ? std::string{}
                                  : ": " + out->failures().front()));
  return elapsed;
}

// The bytes one batch's map stage moves: each input partition to the node
// whose task reads it (a word count's map tasks read their own partition
// only), and every map task's buckets back.
size_t stage_bytes(const std::vector<std::string>& lines, size_t partitions) {
  auto xs = parallelize(lines, partitions);
  size_t input = 0;
  for (const auto& part : detail::partitions_of(xs))
    input += detail::to_bytes(part).size();
  auto counts = word_counts(xs, partitions);
  std::vector<uint32_t> tasks(partitions);
  std::iota(tasks.begin(), tasks.end(), 0u);
  size_t buckets = 0;
  for (const auto& b : counts.node()->run_map_tasks(tasks))
    buckets += b.size();
  return input + buckets;
}

} // namespace

int main(int argc, char** argv) {
  auto partitions = bench::arg(argc, argv, "partitions", 4);
  if (bench::has_flag(argc, argv, "serve"))
    return serve(partitions);
  auto num_lines = bench::arg(argc, argv, "lines", 100000);
  auto batches = bench::arg(argc, argv, "batches", 10);
  auto workers = bench::arg(argc, argv, "workers", 2);
  auto repeats = bench::arg(argc, argv, "repeats", 3);
  auto lines = bench::make_lines(num_lines);
  auto p = "--partitions=" + std::to_string(partitions);
  support::child_process a{{argv[0], "--serve", p}};
  support::child_process b{{argv[0], "--serve", p}};
  std::vector<std::string> nodes;
  for (auto* node : {&a, &b}) {
    auto line = node->read_line();
    if (line.rfind("port ", 0) != 0) {
      std::cerr << "nodes_bench: a worker node did not start: " << line
                << '\n';
      return 1;
    }
    nodes.push_back("127.0.0.1:" + line.substr(5));
  }
  try {
    // The best of the repeats, alternating, so that both see the same load.
    double one = 1e9;
    double two = 1e9;
    for (size_t i = 0; i < repeats; ++i) {
      one = std::min(one, run(lines, batches, partitions, workers, {}));
      two = std::min(two, run(lines, batches, partitions, workers, nodes));
    }
    auto total = static_cast<double>(num_lines * batches);
    int64_t words = 0;
    for (const auto& line : lines)
      words += static_cast<int64_t>(bench::split(line).size());
    auto bytes = static_cast<double>(stage_bytes(lines, partitions))
                 / static_cast<double>(words);
    std::printf("nodes: word count of %zu batches of %zu lines in %zu "
                "partitions: one process (%zu task slots) %.0f lines/s, "
                "driver + 2 worker nodes (map stages there) %.0f lines/s: "
                "%.2fx; %.1f bytes per word on the wire\n",
                batches, num_lines, partitions, workers, total / one,
                total / two, one / two, bytes);
    std::printf("{\"bench\":\"nodes\",\"lines\":%zu,\"batches\":%zu,"
                "\"partitions\":%zu,\"workers\":%zu,"
                "\"one_process_lines_per_s\":%.0f,"
                "\"two_nodes_lines_per_s\":%.0f,\"ratio\":%.3f,"
                "\"bytes_per_word\":%.2f}\n",
                num_lines, batches, partitions, workers, total / one,
                total / two, one / two, bytes);
  } catch (const std::exception& e) {
    std::cerr << "nodes_bench: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
