// The benchmark harness (issue 5): runs the workloads of `workloads.hpp`
// through caf-stream and through their hand-written single-threaded
// baselines, in the same run, and reports:
//
// - engine only: records/s with the in-process generator (queue_stream under
//   a manual clock, so the figure is processing time), the baseline's
//   records/s and the ratio, whether every batch's answer agrees, peak
//   resident memory, and the memory per record held in a batch;
// - the fixed cost of an empty batch through a 5-operator graph, and the
//   scheduling cost per task (batches of many one-record partitions);
// - over TCP (the load generator is a process of its own): the maximum
//   sustainable throughput per batch interval, found by search (the highest
//   offered rate at which every batch's total delay stays under the batch
//   interval for a run of at least `--probe-batches` batches), latency
//   percentiles per offered rate, the p99 total delay at half the maximum
//   load, and the hand-written loop reading the same socket.
//
// Every run happens in a child process of its own, so that peak memory is
// that run's. Writes `<workload>.json`, `results.md`, data files, gnuplot
// scripts and PNGs to `--out`.
//
//   harness [--quick] [--workloads=grep,word_count,top_k,windowed,
//            running_usbk,running_mws] [--workers=2] [--lines=100000]
//           [--batches=10] [--tcp-workloads=word_count,grep]
//           [--intervals=1000,100,10] [--probe-batches=30] [--probes=6]
//           [--tcp-start=R] [--repeats=5] [--seconds=1]
//           [--out=bench-results] [--no-tcp] [--malloc-defaults]
//           [--no-huge-pages]
//   harness --callgrind [--callgrind-workload=word_count] [--baseline]
//           [--lines=N] [--batches=B]   (bench/callgrind.sh runs it)

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#  include <valgrind/callgrind.h>
#else
#  define CALLGRIND_START_INSTRUMENTATION
#  define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "child_process.hpp"
#include "harness_output.hpp"
#include "harness_settings.hpp"
#include "harness_tcp.hpp"
#include "memory.hpp"
#include "progress.hpp"
#include "workloads.hpp"

using namespace caf_stream;

namespace {

using namespace bench::harness;
using bench::steady;

// -- engine only --------------------------------------------------------------

// The input of an engine-only run: eight distinct batches, cycled.
std::vector<bench::batch_lines> make_batches(bench::line_generator& gen,
                                             size_t lines, size_t batches) {
  std::vector<bench::batch_lines> result;
  for (size_t b = 0; b < std::min<size_t>(batches, 8); ++b)
    result.push_back(gen.lines(lines));
  return result;
}

size_t engine_batches(const settings& s, const bench::workload& w) {
  return std::max(s.batches, w.min_batches);
}

void run_baseline(const settings& s, const bench::workload& w, size_t n,
                  FILE* out, bool callgrind) {
  bench::line_generator gen{w.lines};
  auto batches = make_batches(gen, s.lines, n);
  auto f = w.baseline();
  std::vector<uint64_t> answers;
  if (callgrind)
    CALLGRIND_START_INSTRUMENTATION;
  auto t0 = steady::now();
  for (size_t b = 0; b < n; ++b)
    answers.push_back(f(batches[b % batches.size()]));
  auto seconds = bench::seconds_since(t0);
  if (callgrind)
    CALLGRIND_STOP_INSTRUMENTATION;
  std::fprintf(out, "seconds %.6f\n", seconds);
  for (auto a : answers)
    std::fprintf(out, "answer %llu\n", static_cast<unsigned long long>(a));
}

void run_engine(const settings& s, const bench::workload& w, size_t n,
                FILE* out, bool callgrind) {
  auto opts = options(s);
  // What holding a batch's records costs, per byte of record: the heap
  // the strings take as partitions hold them (a block holds them the same
  // way), counted by malloc. (The resident size would count the
  // generator's freed memory, which the process keeps, or miss what the
  // strings reuse of it.)
  bench::line_generator gen{w.lines};
  auto before = heap_in_use();
  auto batches = make_batches(gen, s.lines, n);
  std::vector<rdd<std::string>> rdds;
  for (auto& b : batches)
    rdds.push_back(parallelize(std::move(b), opts.default_parallelism));
  batches.clear();
  auto held = static_cast<double>(heap_in_use()) - static_cast<double>(before);
  auto raw = static_cast<double>(rdds.size() * s.lines * w.lines.line_bytes);
  bench::driver d{opts, w.stateful};
  auto queue = std::make_shared<rdd_queue<std::string>>();
  for (size_t b = 0; b < n; ++b)
    queue->push(rdds[b % rdds.size()]);
  std::vector<uint64_t> answers;
  w.pipeline(d.context().queue_stream(queue), [&](uint64_t a) {
    answers.push_back(a);
    d.batch_done();
  });
  d.context().start();
  if (callgrind)
    CALLGRIND_START_INSTRUMENTATION;
  auto seconds = d.run(n);
  if (callgrind)
    CALLGRIND_STOP_INSTRUMENTATION;
  d.context().stop();
  std::fprintf(out, "seconds %.6f\n", seconds);
  std::fprintf(out, "memory_ratio %.3f\n", held / raw);
  for (auto a : answers)
    std::fprintf(out, "answer %llu\n", static_cast<unsigned long long>(a));
}

std::vector<std::string> answers_of(const report& r) {
  std::vector<std::string> result;
  for (auto& a : r.all("answer"))
    result.push_back(a.at(1));
  return result;
}

// Alternates baseline and engine runs `--repeats` times and compares the
// best run of each: on a shared machine a run is only ever slowed down by
// its neighbours, so the fastest run is the closest to the code's own speed.
engine_result engine_only(const settings& s, const bench::workload& w) {
  // Enough batches for the baseline to run `--seconds`: a run of a few
  // milliseconds measures the machine's hiccups, not the code.
  auto n = engine_batches(s, w);
  auto calibration = in_child([&](FILE* out) {
    run_baseline(s, w, n, out, false);
  });
  auto per_batch = calibration.number("seconds") / static_cast<double>(n);
  if (per_batch > 0)
    n = std::max(n, static_cast<size_t>(std::ceil(s.seconds / per_batch)));
  auto records = static_cast<double>(n * s.lines);
  engine_result r{};
  r.workload = w.name;
  r.batches = n;
  r.agree = true;
  for (size_t i = 0; i < s.repeats; ++i) {
    auto base = in_child([&](FILE* out) {
      run_baseline(s, w, n, out, false);
    });
    auto engine = in_child([&](FILE* out) { run_engine(s, w, n, out, false); });
    r.baseline_rate = std::max(r.baseline_rate,
                               records / base.number("seconds"));
    r.engine_rate = std::max(r.engine_rate, records / engine.number("seconds"));
    r.agree = r.agree && answers_of(base) == answers_of(engine);
    r.peak_rss_kb = std::max(r.peak_rss_kb, static_cast<long>(engine.number(
                                              "peak_rss_kb")));
    r.memory_ratio = engine.number("memory_ratio");
    std::vector<child> loops;
    for (size_t k = 0; k < s.workers; ++k)
      loops.push_back(
        start_child([&](FILE* out) { run_baseline(s, w, n, out, false); }));
    double slowest = 0;
    for (auto& c : loops)
      slowest = std::max(slowest, collect(c).number("seconds"));
    r.parallel_baseline_rate = std::max(r.parallel_baseline_rate,
                                        records * s.workers / slowest);
  }
  std::printf("%-13s engine only, %zu batches: baseline (1 thread) %10.0f "
              "lines/s, "
              "caf-stream (%zu workers) %10.0f lines/s, ratio %.2f (%zu "
              "loops at once: %.2f), answers agree: %s, peak RSS %ld MB\n",
              w.name.c_str(), n, r.baseline_rate, s.workers, r.engine_rate,
              r.engine_rate / r.baseline_rate, s.workers,
              r.parallel_baseline_rate / r.baseline_rate,
              r.agree ? "yes" : "NO", r.peak_rss_kb / 1024);
  return r;
}

// Runs 10 batches, then `n` more, of the graph `build(driver, queue)` makes
// on a queue of `batch` RDDs, in a child process of its own; returns the
// microseconds per batch of the `n`.
template <class Build>
double us_per_batch(const settings& s, size_t n, bool checkpointed,
                    const rdd<int64_t>& batch, Build build) {
  auto r = in_child([&](FILE* out) {
    bench::driver d{options(s), checkpointed};
    auto queue = std::make_shared<rdd_queue<int64_t>>();
    for (size_t b = 0; b < n + 10; ++b)
      queue->push(batch);
    build(d, d.context().queue_stream(queue));
    d.context().start();
    d.run(10);
    std::fprintf(out, "seconds %.6f\n", d.run(n));
    d.context().stop();
  });
  return r.number("seconds") / static_cast<double>(n) * 1e6;
}

// The fixed cost of a batch with no data through map -> filter -> flat_map
// -> map -> reduce_by_key -> foreach_rdd, in microseconds, without and with
// a checkpoint directory (which makes every batch write its metadata).
double empty_batch_cost(const settings& s, bool checkpointed) {
  auto empty = parallelize(std::vector<int64_t>{}, s.workers);
  auto us = us_per_batch(
    s, s.quick ? 200 : 2000, checkpointed, empty,
    [](bench::driver& d, const dstream<int64_t>& in) {
      in.map([](int64_t x) { return x + 1; })
        .filter([](int64_t x) { return x % 2 == 0; })
        .flat_map([](int64_t x) { return std::vector<int64_t>{x, x}; })
        .map([](int64_t x) { return std::make_pair(x % 10, x); })
        .reduce_by_key(bench::plus)
        .foreach_rdd([&d](const rdd<std::pair<int64_t, int64_t>>& x) {
          x.count();
          d.batch_done();
        });
    });
  std::printf("empty batch through a 5-operator graph%s: %.1f us\n",
              checkpointed ? ", checkpointing every batch" : "", us);
  return us;
}

// What the scheduler spends on each task: batches of `partitions` one-record
// partitions through map -> count (one stage, a task per partition), in
// microseconds per batch.
double tiny_task_batch_cost(const settings& s, size_t partitions) {
  auto batch = parallelize(std::vector<int64_t>(partitions, 1), partitions);
  return us_per_batch(s, s.quick ? 100 : 1000, false, batch,
                      [](bench::driver& d, const dstream<int64_t>& in) {
                        in.map([](int64_t x) { return x + 1; })
                          .foreach_rdd([&d](const rdd<int64_t>& x) {
                            x.count();
                            d.batch_done();
                          });
                      });
}

// The scheduling cost per task: the time a batch of 256 tiny partitions
// takes beyond a batch of one, per extra task. It bounds the tasks (and so
// the nodes) one driver keeps busy at a batch interval.
double per_task_cost(const settings& s) {
  constexpr size_t many = 256;
  auto one = tiny_task_batch_cost(s, 1);
  auto all = tiny_task_batch_cost(s, many);
  auto us = (all - one) / static_cast<double>(many - 1);
  std::printf("scheduling cost per task: %.2f us (a batch of %zu one-record "
              "partitions: %.1f us, of one: %.1f us)\n",
              us, many, all, one);
  return us;
}

int run(int argc, char** argv) {
  bench::check_args(
    argc, argv,
    "harness [--quick] [--workloads=grep,word_count,top_k,windowed,"
    "running_usbk,running_mws] [--workers=2] [--lines=100000] [--batches=10] "
    "[--tcp-workloads=word_count,grep] [--intervals=1000,100,10] "
    "[--probe-batches=30] [--probes=6] [--tcp-start=R] [--repeats=5] "
    "[--seconds=1] [--out=bench-results] [--no-tcp] [--malloc-defaults] "
    "[--no-huge-pages]\n"
    "       harness --callgrind [--callgrind-workload=word_count] "
    "[--baseline] [--lines=N] [--batches=B]",
    {"quick", "workloads", "workers", "lines", "batches", "tcp-workloads",
     "intervals", "probe-batches", "probes", "tcp-start", "repeats",
     "seconds", "out", "no-tcp", "malloc-defaults", "no-huge-pages",
     "callgrind", "callgrind-workload", "baseline"});
  auto s = parse(argc, argv);
  // Not under callgrind: valgrind would not follow the program run again.
  if (s.huge_pages && !bench::has_flag(argc, argv, "callgrind"))
    bench::use_huge_pages(argv);
  if (s.keep_freed_memory)
    bench::keep_freed_memory();
  auto all = bench::all_workloads();
  if (bench::has_flag(argc, argv, "callgrind")) {
    auto& w = find_workload(
      all, bench::arg_text(argc, argv, "callgrind-workload", "word_count"));
    auto n = engine_batches(s, w);
    if (bench::has_flag(argc, argv, "baseline"))
      run_baseline(s, w, n, stdout, true);
    else
      run_engine(s, w, n, stdout, true);
    std::printf("records %zu\n", n * s.lines);
    return 0;
  }
  if (std::system(("mkdir -p '" + s.out + "'").c_str()) != 0)
    throw std::runtime_error("cannot create " + s.out);
  auto t0 = steady::now();
  auto tcp_steps = s.tcp ? s.tcp_workloads.size()
                             * (s.repeats + s.intervals_ms.size() * (s.probes + 1))
                         : 0;
  bench::progress pr{s.workloads.size() + 3 + tcp_steps,
                     ::isatty(::fileno(stderr)) != 0};
  std::vector<engine_result> es;
  bool agree = true;
  for (auto& name : s.workloads) {
    pr.begin(name + ", engine only");
    es.push_back(engine_only(s, find_workload(all, name)));
    agree = agree && es.back().agree;
  }
  pr.begin("empty batches");
  auto empty_us = empty_batch_cost(s, false);
  pr.begin("empty batches with a checkpoint directory");
  auto empty_checkpointed_us = empty_batch_cost(s, true);
  pr.begin("scheduling cost per task");
  auto task_us = per_task_cost(s);
  write_file(s.out + "/scheduling.json",
             "{\"empty_batch_us\": " + fixed(empty_us, 1)
               + ", \"empty_batch_checkpointed_us\": "
               + fixed(empty_checkpointed_us, 1)
               + ", \"per_task_us\": " + fixed(task_us, 2) + "}\n");
  std::vector<search_result> searches;
  std::map<std::string, double> tcp_base;
  if (s.tcp) {
    for (auto& name : s.tcp_workloads) {
      auto& w = find_workload(all, name);
      for (size_t i = 0; i < s.repeats; ++i) {
        pr.begin(name + " over TCP, the hand-written loop");
        tcp_base[name] = std::max(tcp_base[name],
                                  tcp_baseline(w, s.quick ? 200000 : 2000000));
      }
      auto start = s.tcp_start;
      for (auto& e : es)
        if (start == 0 && e.workload == name)
          start = e.engine_rate / 4;
      if (start == 0)
        start = tcp_base[name] / 2;
      for (auto ms : s.intervals_ms)
        searches.push_back(search(s, w, ms, start, pr));
    }
  }
  pr.finish();
  auto names = s.workloads;
  for (auto& name : s.tcp_workloads)
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  for (auto& name : names) {
    const engine_result* e = nullptr;
    for (auto& x : es)
      if (x.workload == name)
        e = &x;
    std::vector<search_result> mine;
    for (auto& r : searches)
      if (r.workload == name)
        mine.push_back(r);
    auto base = tcp_base.count(name) ? tcp_base[name] : 0;
    write_file(s.out + "/" + name + ".json", workload_json(s, e, mine, base));
  }
  auto md = markdown(s, es, empty_us, empty_checkpointed_us, task_us,
                     searches, tcp_base);
  write_file(s.out + "/results.md", md);
  if (!searches.empty())
    write_plots(s, searches);
  std::printf("\n%s\nresults: %s/results.md (%.0f s)\n", md.c_str(),
              s.out.c_str(), bench::seconds_since(t0));
  return agree ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harness: %s\n", e.what());
    return 1;
  }
}
