// Word count over 100-byte lines through the full runtime (queue_stream ->
// flat_map -> map -> reduce_by_key -> foreach_rdd), beside a hand-written
// single-threaded loop (tokenize + hash count) over the same lines, measured
// in the same run. Prints one line per figure and a JSON record.
//
//   word_count_bench [--lines=N] [--batches=B] [--workers=W] [--partitions=P]

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_support.hpp"

using namespace caf_stream;

using bench::arg;
using bench::make_lines;
using bench::seconds_since;
using bench::split;
using bench::steady;

int main(int argc, char** argv) {
  bench::check_args(argc, argv,
                    "word_count_bench [--lines=200000] [--batches=5] "
                    "[--workers=2] [--partitions=W]",
                    {"lines", "batches", "workers", "partitions"});
  auto num_lines = arg(argc, argv, "lines", 200000);
  auto num_batches = arg(argc, argv, "batches", 5);
  auto opts = bench::options();
  opts.workers = arg(argc, argv, "workers", 2);
  opts.default_parallelism = arg(argc, argv, "partitions", opts.workers);
  auto lines = make_lines(num_lines);

  // Baseline: one thread, same tokenizer, hash count per batch.
  auto t0 = steady::now();
  int64_t baseline_words = 0;
  for (size_t b = 0; b < num_batches; ++b) {
    std::unordered_map<std::string, int64_t> counts;
    for (const auto& line : lines)
      for (auto& w : split(line))
        ++counts[w];
    for (auto& kv : counts)
      baseline_words += kv.second;
  }
  auto baseline_s = seconds_since(t0);

  // caf-stream: the same batches through the runtime under a manual clock,
  // so the figure is processing time, not waiting for the batch grid.
  bench::driver d{opts};
  auto& ssc = d.context();
  auto queue = std::make_shared<rdd_queue<std::string>>();
  for (size_t b = 0; b < num_batches; ++b)
    queue->push(parallelize(lines, opts.default_parallelism));
  int64_t engine_words = 0;
  ssc.queue_stream(queue)
    .flat_map(split)
    .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
    .foreach_rdd([&](const rdd<std::pair<std::string, int64_t>>& r) {
      engine_words += bench::sum_counts(r);
      d.batch_done();
    });
  ssc.start();
  auto engine_s = d.run(num_batches);
  ssc.stop();

  auto records = static_cast<double>(num_lines * num_batches);
  auto base_rate = records / baseline_s;
  auto engine_rate = records / engine_s;
  auto ratio = engine_rate / base_rate;
  std::printf("baseline (1 thread, hand-written loop): %.0f lines/s\n", base_rate);
  std::printf("caf-stream (%zu workers, %zu partitions): %.0f lines/s\n",
              opts.workers, opts.default_parallelism, engine_rate);
  std::printf("ratio caf-stream / baseline: %.2f\n", ratio);
  std::printf("answers agree: %s (%lld words)\n",
              engine_words == baseline_words ? "yes" : "NO",
              static_cast<long long>(baseline_words));
  std::printf("{\"workload\":\"word_count\",\"lines\":%zu,\"batches\":%zu,"
              "\"workers\":%zu,\"partitions\":%zu,\"baseline_lines_per_s\":%.0f,"
              "\"engine_lines_per_s\":%.0f,\"ratio\":%.3f,\"answers_agree\":%s}\n",
              num_lines, num_batches, opts.workers, opts.default_parallelism,
              base_rate, engine_rate, ratio,
              engine_words == baseline_words ? "true" : "false");
  return engine_words == baseline_words ? 0 : 1;
}
