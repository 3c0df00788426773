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

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#  include <valgrind/callgrind.h>
#else
#  define CALLGRIND_START_INSTRUMENTATION
#  define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "memory.hpp"
#include "progress.hpp"
#include "workloads.hpp"

using namespace caf_stream;

namespace {

using bench::steady;

// -- settings -----------------------------------------------------------------

struct settings {
  std::vector<std::string> workloads;
  std::vector<std::string> tcp_workloads;
  std::vector<int64_t> intervals_ms;
  size_t workers;
  size_t lines;
  size_t batches;
  size_t probe_batches;
  size_t probes;
  // The search's first offered rate (0: a quarter of the engine-only rate,
  // or half the TCP loop's).
  double tcp_start;
  size_t repeats;
  double seconds;
  std::string out;
  bool tcp;
  bool quick;
  bool keep_freed_memory;
  bool huge_pages;
};

settings parse(int argc, char** argv) {
  settings s;
  s.quick = bench::has_flag(argc, argv, "quick");
  s.workloads = bench::arg_list(argc, argv, "workloads",
                                "grep,word_count,top_k,windowed,running_usbk,"
                                "running_mws");
  s.tcp_workloads = bench::arg_list(argc, argv, "tcp-workloads",
                                    s.quick ? "word_count" : "word_count,grep");
  for (auto& x : bench::arg_list(argc, argv, "intervals",
                                 s.quick ? "100" : "1000,100,10"))
    s.intervals_ms.push_back(std::stol(x));
  s.workers = bench::arg(argc, argv, "workers", 2);
  s.lines = bench::arg(argc, argv, "lines", s.quick ? 5000 : 100000);
  s.batches = bench::arg(argc, argv, "batches", s.quick ? 3 : 10);
  s.probe_batches = bench::arg(argc, argv, "probe-batches", 30);
  s.probes = bench::arg(argc, argv, "probes", s.quick ? 2 : 6);
  s.tcp_start = bench::arg_number(argc, argv, "tcp-start", 0);
  s.repeats = bench::arg(argc, argv, "repeats", s.quick ? 1 : 5);
  s.seconds = bench::arg_number(argc, argv, "seconds", s.quick ? 0 : 1);
  s.out = bench::arg_text(argc, argv, "out", "bench-results");
  s.tcp = !bench::has_flag(argc, argv, "no-tcp");
  s.keep_freed_memory = !bench::has_flag(argc, argv, "malloc-defaults");
  s.huge_pages = s.keep_freed_memory
                 && !bench::has_flag(argc, argv, "no-huge-pages");
  for (auto ms : s.intervals_ms)
    if (ms < 10 || ms > 2000)
      throw std::invalid_argument("--intervals: batch intervals must be 10 "
                                  "to 2000 ms, got "
                                  + std::to_string(ms));
  if (s.workers == 0 || s.lines == 0 || s.batches == 0 || s.probes == 0
      || s.repeats == 0)
    throw std::invalid_argument("--workers, --lines, --batches, --probes and "
                                "--repeats must be positive");
  return s;
}

stream_options options(const settings& s) {
  auto opts = bench::options();
  opts.workers = s.workers;
  opts.default_parallelism = s.workers;
  return opts;
}

const bench::workload& find_workload(const std::vector<bench::workload>& all,
                                     const std::string& name) {
  for (auto& w : all)
    if (w.name == name)
      return w;
  throw std::invalid_argument("unknown workload '" + name
                              + "' (grep, word_count, top_k, windowed, "
                                "running_usbk, running_mws)");
}

// -- child processes ----------------------------------------------------------

long peak_rss_kb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Bytes of heap the process's allocations hold (malloc's main arena and
// its separately mapped blocks), with malloc's own overhead per block.
size_t heap_in_use() {
  auto info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// What a child reports, one "key values..." line each.
struct report {
  std::vector<std::vector<std::string>> lines;

  std::vector<std::vector<std::string>> all(const std::string& key) const {
    std::vector<std::vector<std::string>> result;
    for (auto& l : lines)
      if (!l.empty() && l[0] == key)
        result.push_back(l);
    return result;
  }

  double number(const std::string& key, double fallback = 0) const {
    auto xs = all(key);
    return xs.empty() || xs[0].size() < 2 ? fallback : std::stod(xs[0][1]);
  }
};

// A child process running a benchmark, and the pipe it reports through.
struct child {
  pid_t pid;
  int fd;
};

// Starts `f(out)` in a child process. A child that throws reports
// "error <message>".
template <class F>
child start_child(F f) {
  std::fflush(stdout);
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    auto out = ::fdopen(fds[1], "w");
    int rc = 0;
    try {
      f(out);
    } catch (const std::exception& e) {
      std::fprintf(out, "error %s\n", e.what());
      rc = 1;
    }
    std::fprintf(out, "peak_rss_kb %ld\n", peak_rss_kb());
    std::fclose(out);
    std::_Exit(rc);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads what the child wrote until it exits.
report collect(const child& c) {
  report r;
  auto in = ::fdopen(c.fd, "r");
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), in)) {
    std::istringstream is{buf};
    std::vector<std::string> words;
    std::string w;
    while (is >> w)
      words.push_back(w);
    r.lines.push_back(std::move(words));
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  for (auto& e : r.all("error")) {
    std::string msg;
    for (size_t i = 1; i < e.size(); ++i)
      msg += (i > 1 ? " " : "") + e[i];
    throw std::runtime_error(msg);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("a benchmark child process failed");
  return r;
}

template <class F>
report in_child(F f) {
  return collect(start_child(std::move(f)));
}

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

struct engine_result {
  std::string workload;
  size_t batches;
  double baseline_rate;
  double engine_rate;
  /// `workers` independent baseline loops at once, in processes of their
  /// own: what this machine gives `workers` threads (the ideal is
  /// `workers` times the baseline; shared caches, memory bandwidth and
  /// the hypervisor take their share).
  double parallel_baseline_rate;
  bool agree;
  long peak_rss_kb;
  double memory_ratio;
};

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

// -- over TCP -----------------------------------------------------------------

std::string self_dir() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return ".";
  std::string path{buf, static_cast<size_t>(n)};
  return path.substr(0, path.rfind('/'));
}

// The load generator process, started with `args`; reads its port.
class generator_process {
public:
  explicit generator_process(const std::string& args) {
    auto cmd = self_dir() + "/load_generator " + args;
    pipe_ = ::popen(cmd.c_str(), "r");
    if (pipe_ == nullptr)
      throw std::runtime_error("cannot start " + cmd);
    char line[256];
    unsigned port = 0;
    if (!std::fgets(line, sizeof(line), pipe_)
        || std::sscanf(line, "port %u", &port) != 1)
      throw std::runtime_error("the load generator did not start: " + cmd);
    port_ = static_cast<uint16_t>(port);
  }

  generator_process(const generator_process&) = delete;
  generator_process& operator=(const generator_process&) = delete;

  ~generator_process() {
    if (pipe_ != nullptr)
      ::pclose(pipe_);
  }

  uint16_t port() const noexcept {
    return port_;
  }

  // Waits for the generator to finish: lines sent and its worst lag.
  std::pair<size_t, double> finish() {
    char line[256];
    size_t sent = 0;
    double lag_ms = 0;
    if (std::fgets(line, sizeof(line), pipe_))
      std::sscanf(line, "sent %zu max-lag-ms %lf", &sent, &lag_ms);
    ::pclose(pipe_);
    pipe_ = nullptr;
    return {sent, lag_ms};
  }

private:
  FILE* pipe_ = nullptr;
  uint16_t port_ = 0;
};

std::string generator_args(const bench::workload& w, double rate,
                           double seconds, size_t lines) {
  std::ostringstream os;
  os << "--rate=" << static_cast<int64_t>(rate) << " --seconds=" << seconds
     << " --lines=" << lines << " --vocabulary=" << w.lines.vocabulary
     << " --zipf=" << w.lines.zipf << " --seed=" << w.lines.seed;
  return os.str();
}

class batch_recorder final : public streaming_listener {
public:
  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    infos_.push_back(info);
  }

  std::vector<batch_info> infos() {
    std::lock_guard<std::mutex> guard{mtx_};
    return infos_;
  }

private:
  std::mutex mtx_;
  std::vector<batch_info> infos_;
};

// Batches a probe judges by: the first three (connecting) and the last two
// (the generator stopping mid-batch) are left out.
constexpr size_t warmup_batches = 3;
constexpr size_t tail_batches = 2;

double probe_seconds(const settings& s, int64_t interval_ms) {
  auto batches = static_cast<double>(s.probe_batches + warmup_batches
                                     + tail_batches);
  return std::max(2.0, batches * static_cast<double>(interval_ms) / 1000.0);
}

// The block interval of a probe: four blocks per worker and batch (as
// Spark's tuning guide advises a few tasks per core, so that a task held up
// by the receiver or the load generator on a shared core leaves the rest to
// the other workers), but none shorter than 5 ms.
duration probe_block_interval(const settings& s, int64_t interval_ms) {
  auto workers = static_cast<int64_t>(s.workers);
  auto one_per_worker = std::max<int64_t>(1, interval_ms / workers);
  return duration{std::min(one_per_worker,
                           std::max<int64_t>(5, interval_ms / (4 * workers)))};
}

// One run at a fixed offered rate: child process, real clock.
void run_probe(const settings& s, const bench::workload& w, int64_t interval_ms,
               double rate, FILE* out) {
  auto seconds = probe_seconds(s, interval_ms);
  generator_process gen{generator_args(w, rate, seconds, 0)};
  auto opts = options(s);
  opts.block_interval = probe_block_interval(s, interval_ms);
  testing::temporary_directory dir;
  streaming_context ssc{duration{interval_ms}, opts};
  if (w.stateful)
    ssc.checkpoint(dir.path());
  auto rec = std::make_shared<batch_recorder>();
  ssc.add_streaming_listener(rec);
  w.pipeline(ssc.socket_text_stream("127.0.0.1", gen.port()), [](uint64_t) {});
  ssc.start();
  auto [sent, lag_ms] = gen.finish();
  // Let the last batches finish before stopping.
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * interval_ms + 100));
  ssc.stop(false);
  std::fprintf(out, "sent %zu %.1f\n", sent, lag_ms);
  for (auto& i : rec->infos())
    if (auto total = i.total_delay())
      std::fprintf(out, "batch %lld %lld\n",
                   static_cast<long long>(i.num_records),
                   static_cast<long long>(total->count()));
}

struct probe_result {
  double offered;
  bool sustainable;
  double received_rate;
  double p50_ms;
  double p99_ms;
  double max_total_ms;
  long peak_rss_kb;
};

// Latency percentiles from a record's arrival to its batch's output: a
// batch's records arrive over its interval at the offered (constant) rate,
// so a record's latency is the batch's total delay plus its distance to the
// batch's end, spread evenly over [0, interval).
std::pair<double, double> latency_percentiles(
  const std::vector<std::pair<int64_t, int64_t>>& batches, int64_t interval_ms) {
  constexpr int steps = 20;
  std::vector<std::pair<double, double>> points; // latency, weight
  double total = 0;
  for (auto& [records, delay] : batches) {
    for (int k = 0; k < steps; ++k)
      points.emplace_back(static_cast<double>(delay)
                            + static_cast<double>(interval_ms) * (k + 0.5) / steps,
                          static_cast<double>(records) / steps);
    total += static_cast<double>(records);
  }
  if (points.empty() || total == 0)
    return {0, 0};
  std::sort(points.begin(), points.end());
  auto at = [&](double q) {
    double acc = 0;
    for (auto& [lat, weight] : points)
      if ((acc += weight) >= q * total)
        return lat;
    return points.back().first;
  };
  return {at(0.5), at(0.99)};
}

probe_result probe(const settings& s, const bench::workload& w,
                   int64_t interval_ms, double rate) {
  auto r = in_child([&](FILE* out) { run_probe(s, w, interval_ms, rate, out); });
  std::vector<std::pair<int64_t, int64_t>> batches;
  for (auto& b : r.all("batch"))
    batches.emplace_back(std::stoll(b.at(1)), std::stoll(b.at(2)));
  if (std::getenv("HARNESS_DEBUG"))
    for (auto& [records, delay] : batches)
      std::printf("    batch: %lld records, total delay %lld ms\n",
                  static_cast<long long>(records), static_cast<long long>(delay));
  // Judge the batches between the warm-up and the tail (after the
  // generator stopped, batches are empty).
  while (!batches.empty() && batches.back().first == 0)
    batches.pop_back();
  std::vector<std::pair<int64_t, int64_t>> judged;
  for (size_t i = warmup_batches; i + tail_batches < batches.size(); ++i)
    judged.push_back(batches[i]);
  probe_result p{};
  p.offered = rate;
  p.peak_rss_kb = static_cast<long>(r.number("peak_rss_kb"));
  auto lag_ms = r.all("sent").empty() ? 0 : std::stod(r.all("sent")[0].at(2));
  double received = 0;
  for (auto& [records, delay] : judged) {
    received += static_cast<double>(records);
    p.max_total_ms = std::max(p.max_total_ms, static_cast<double>(delay));
  }
  auto span_s = static_cast<double>(judged.size() * interval_ms) / 1000.0;
  p.received_rate = judged.empty() ? 0 : received / span_s;
  std::tie(p.p50_ms, p.p99_ms) = latency_percentiles(judged, interval_ms);
  p.sustainable = judged.size() >= s.probe_batches * 8 / 10
                  && p.max_total_ms < static_cast<double>(interval_ms)
                  && p.received_rate >= 0.95 * rate
                  && lag_ms < static_cast<double>(interval_ms);
  std::printf("  %-10s %5lld ms batches, offered %9.0f lines/s: received "
              "%9.0f/s, max total delay %5.0f ms, p50 %6.0f ms, p99 %6.0f "
              "ms, generator lag %4.0f ms: %s\n",
              w.name.c_str(), static_cast<long long>(interval_ms), rate,
              p.received_rate, p.max_total_ms, p.p50_ms, p.p99_ms, lag_ms,
              p.sustainable ? "sustained" : "not sustained");
  return p;
}

struct search_result {
  std::string workload;
  int64_t interval_ms;
  double max_rate = 0;
  std::vector<probe_result> probes;
  std::optional<probe_result> half_load;
};

// The highest sustainable offered rate: doubles (or halves) from `start`
// until the outcome flips, then bisects, within `s.probes` probes.
search_result search(const settings& s, const bench::workload& w,
                     int64_t interval_ms, double start, bench::progress& pr) {
  search_result result;
  result.workload = w.name;
  result.interval_ms = interval_ms;
  double lo = 0;
  double hi = 0;
  auto rate = start;
  auto where = w.name + " over TCP at " + std::to_string(interval_ms) + " ms";
  for (size_t i = 0; i < s.probes; ++i) {
    pr.begin(where + ", probe " + std::to_string(i + 1) + " of "
             + std::to_string(s.probes) + ": "
             + std::to_string(static_cast<long long>(rate)) + " lines/s");
    auto p = probe(s, w, interval_ms, rate);
    result.probes.push_back(p);
    if (p.sustainable)
      lo = std::max(lo, rate);
    else
      hi = hi == 0 ? rate : std::min(hi, rate);
    if (hi == 0)
      rate *= 2;
    else if (lo == 0)
      rate /= 2;
    else
      rate = (lo + hi) / 2;
  }
  result.max_rate = lo;
  pr.begin(where + ", latency at half load");
  if (lo > 0)
    result.half_load = probe(s, w, interval_ms, lo / 2);
  return result;
}

// The hand-written loop over TCP: one thread reads the socket, splits lines
// and computes the workload's answer per `lines` lines; lines/s.
double tcp_baseline(const bench::workload& w, size_t lines) {
  auto r = in_child([&](FILE* out) {
    generator_process gen{generator_args(w, 0, 600, lines)};
    auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(gen.port());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error("cannot connect to the load generator");
    auto f = w.baseline();
    auto per_batch = std::max<size_t>(1, lines / 10);
    bench::batch_lines batch;
    std::string pending;
    std::vector<char> buf(1 << 16);
    size_t received = 0;
    auto t0 = steady::now();
    for (;;) {
      auto n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0)
        break;
      pending.append(buf.data(), static_cast<size_t>(n));
      size_t start = 0;
      for (auto nl = pending.find('\n'); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        batch.emplace_back(pending, start, nl - start);
        start = nl + 1;
        if (batch.size() == per_batch) {
          f(batch);
          received += batch.size();
          batch.clear();
        }
      }
      pending.erase(0, start);
    }
    if (!batch.empty()) {
      f(batch);
      received += batch.size();
    }
    std::fprintf(out, "seconds %.6f\nlines %zu\n", bench::seconds_since(t0),
                 received);
    ::close(fd);
    gen.finish();
  });
  auto rate = r.number("lines") / r.number("seconds");
  std::printf("%-13s over TCP: hand-written loop (1 thread) %10.0f lines/s\n",
              w.name.c_str(), rate);
  return rate;
}

// -- output -------------------------------------------------------------------

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

std::string fixed(double x, int digits = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string workload_json(const settings& s, const engine_result* e,
                          const std::vector<search_result>& searches,
                          double tcp_base) {
  std::ostringstream os;
  os << "{\"workers\":" << s.workers << ",\"lines_per_batch\":" << s.lines
     << ",\"repeats\":" << s.repeats << ",\"keep_freed_memory\":"
     << (s.keep_freed_memory ? "true" : "false") << ",\"huge_pages\":"
     << (s.huge_pages ? "true" : "false");
  if (e != nullptr)
    os << ",\"workload\":\"" << e->workload << "\",\"engine_only\":{"
       << "\"batches\":" << e->batches << ",\"baseline_lines_per_s\":" << fixed(e->baseline_rate)
       << ",\"engine_lines_per_s\":" << fixed(e->engine_rate)
       << ",\"ratio\":" << fixed(e->engine_rate / e->baseline_rate, 3)
       << ",\"parallel_baseline_lines_per_s\":"
       << fixed(e->parallel_baseline_rate)
       << ",\"parallel_baseline_ratio\":"
       << fixed(e->parallel_baseline_rate / e->baseline_rate, 3)
       << ",\"answers_agree\":" << (e->agree ? "true" : "false")
       << ",\"peak_rss_kb\":" << e->peak_rss_kb
       << ",\"memory_per_record_byte\":" << fixed(e->memory_ratio, 3) << "}";
  if (tcp_base > 0)
    os << ",\"tcp_baseline_lines_per_s\":" << fixed(tcp_base);
  os << ",\"tcp\":[";
  for (size_t i = 0; i < searches.size(); ++i) {
    auto& r = searches[i];
    os << (i > 0 ? "," : "") << "{\"interval_ms\":" << r.interval_ms
       << ",\"max_sustainable_lines_per_s\":" << fixed(r.max_rate);
    if (r.half_load)
      os << ",\"half_load_p99_ms\":" << fixed(r.half_load->p99_ms)
         << ",\"half_load_max_total_delay_ms\":"
         << fixed(r.half_load->max_total_ms);
    os << ",\"probes\":[";
    for (size_t k = 0; k < r.probes.size(); ++k) {
      auto& p = r.probes[k];
      os << (k > 0 ? "," : "") << "{\"offered\":" << fixed(p.offered)
         << ",\"received\":" << fixed(p.received_rate)
         << ",\"sustainable\":" << (p.sustainable ? "true" : "false")
         << ",\"p50_ms\":" << fixed(p.p50_ms) << ",\"p99_ms\":"
         << fixed(p.p99_ms) << ",\"max_total_delay_ms\":"
         << fixed(p.max_total_ms) << ",\"peak_rss_kb\":" << p.peak_rss_kb
         << "}";
    }
    os << "]}";
  }
  os << "]}\n";
  return os.str();
}

void write_plots(const settings& s, const std::vector<search_result>& searches) {
  std::ostringstream tput;
  std::ostringstream lat;
  std::string tput_plot;
  std::string lat_plot;
  std::map<std::string, std::vector<const search_result*>> by_workload;
  for (auto& r : searches)
    by_workload[r.workload].push_back(&r);
  size_t index = 0;
  for (auto& [name, rs] : by_workload) {
    tput << "# " << name << ": interval_ms max_lines_per_s\n";
    for (auto* r : rs)
      tput << r->interval_ms << ' ' << fixed(r->max_rate) << '\n';
    tput << "\n\n";
    tput_plot += std::string(tput_plot.empty() ? "plot " : ", ")
                 + "'throughput.dat' index " + std::to_string(index++)
                 + " u 1:2 w lp t '" + name + "'";
  }
  index = 0;
  for (auto& r : searches) {
    lat << "# " << r.workload << ' ' << r.interval_ms
        << " ms: offered p50_ms p99_ms\n";
    auto ps = r.probes;
    if (r.half_load)
      ps.push_back(*r.half_load);
    std::sort(ps.begin(), ps.end(),
              [](auto& a, auto& b) { return a.offered < b.offered; });
    for (auto& p : ps)
      lat << fixed(p.offered) << ' ' << fixed(p.p50_ms) << ' '
          << fixed(p.p99_ms) << '\n';
    lat << "\n\n";
    auto label = r.workload + " " + std::to_string(r.interval_ms) + " ms";
    lat_plot += std::string(lat_plot.empty() ? "plot " : ", ") + "'latency.dat' index "
                + std::to_string(index) + " u 1:3 w lp t '" + label + " p99', "
                + "'latency.dat' index " + std::to_string(index)
                + " u 1:2 w lp dt 2 t '" + label + " p50'";
    ++index;
  }
  write_file(s.out + "/throughput.dat", tput.str());
  write_file(s.out + "/latency.dat", lat.str());
  write_file(s.out + "/plots.gp",
             // Plain text: gnuplot's enhanced mode would set the "_c" of
             // "word_count" as a subscript. Both axes are logarithmic: the
             // workloads' rates differ by more than 10x.
             "set terminal png size 1000,600 noenhanced\n"
             "set output 'throughput.png'\n"
             "set title 'maximum sustainable throughput (" + std::to_string(s.workers)
               + " workers, over TCP)'\n"
             "set logscale xy\nset xlabel 'batch interval (ms)'\n"
             "set ylabel 'lines/s'\n"
             + tput_plot + "\n"
             "set output 'latency.png'\n"
             "set title 'latency from arrival to output'\n"
             "set key outside right\n"
             "set xlabel 'offered lines/s'\nset ylabel 'ms'\n"
             + lat_plot + "\n");
  auto cmd = "cd '" + s.out + "' && command -v gnuplot >/dev/null && gnuplot plots.gp";
  if (std::system(cmd.c_str()) == 0)
    std::printf("plots: %s/throughput.png, %s/latency.png\n", s.out.c_str(),
                s.out.c_str());
  else
    std::printf("plots: gnuplot not found; data and script in %s\n",
                s.out.c_str());
}

std::string markdown(const settings& s, const std::vector<engine_result>& es,
                     double empty_us, double empty_checkpointed_us,
                     double task_us,
                     const std::vector<search_result>& searches,
                     const std::map<std::string, double>& tcp_base) {
  std::ostringstream md;
  md << "# caf-stream harness results\n\n"
     << s.workers << " workers, " << s.lines << " lines of 100 bytes per batch"
     << (s.quick ? " (--quick)" : "") << "; freed memory "
     << (s.keep_freed_memory ? "kept in the process (mallopt)"
                             : "returned to the kernel (--malloc-defaults)")
     << (s.huge_pages ? ", heaps in huge pages (glibc.malloc.hugetlb=1)"
                      : "")
     << ".\n\n"
     << "## Engine only (in-process generator)\n\n"
     << "Best of " << s.repeats << " alternating runs of each. \""
     << s.workers << " loops\": " << s.workers
     << " baseline loops at once in processes of their own, what this "
        "machine gives that many threads (relative to one loop).\n\n"
     << "| workload | baseline lines/s (1 thread) | caf-stream lines/s | ratio "
        "| " << s.workers << " loops | answers agree | peak RSS MB "
        "| memory per record byte |\n"
     << "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n";
  for (auto& e : es)
    md << "| " << e.workload << " | " << fixed(e.baseline_rate) << " | "
       << fixed(e.engine_rate) << " | "
       << fixed(e.engine_rate / e.baseline_rate, 2) << " | "
       << fixed(e.parallel_baseline_rate / e.baseline_rate, 2) << " | "
       << (e.agree ? "yes" : "**no**") << " | " << e.peak_rss_kb / 1024
       << " | " << fixed(e.memory_ratio, 2) << " |\n";
  md << "\nEmpty batch through a 5-operator graph: " << fixed(empty_us, 1)
     << " us (" << fixed(empty_checkpointed_us, 1)
     << " us with a checkpoint directory: a metadata checkpoint per batch).\n"
     << "\nScheduling cost per task (batches of 256 one-record partitions "
        "against batches of one): "
     << fixed(task_us, 2) << " us.\n";
  if (!searches.empty()) {
    md << "\n## Over TCP (load generator process, 127.0.0.1)\n\n"
       << "| workload | batch interval | max sustainable lines/s | vs "
          "hand-written TCP loop | p50 / p99 at max (ms) | p99 at half load "
          "(ms) |\n| --- | ---: | ---: | ---: | ---: | ---: |\n";
    for (auto& r : searches) {
      const probe_result* at_max = nullptr;
      for (auto& p : r.probes)
        if (p.sustainable && p.offered == r.max_rate)
          at_max = &p;
      auto base = tcp_base.count(r.workload) ? tcp_base.at(r.workload) : 0;
      md << "| " << r.workload << " | " << r.interval_ms << " ms | "
         << fixed(r.max_rate) << " | "
         << (base > 0 ? fixed(r.max_rate / base, 2) : "-") << " | "
         << (at_max ? fixed(at_max->p50_ms) + " / " + fixed(at_max->p99_ms) : "-")
         << " | " << (r.half_load ? fixed(r.half_load->p99_ms) : "-") << " |\n";
    }
    md << "\n";
    for (auto& [name, rate] : tcp_base)
      md << "Hand-written loop reading the socket (" << name
         << "): " << fixed(rate) << " lines/s.\n";
  }
  return md.str();
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
