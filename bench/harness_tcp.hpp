#pragma once

// The harness over TCP (`harness.cpp`): the load generator process, probes
// at a fixed offered rate, the search for the highest sustainable one, and
// the hand-written loop reading the same socket.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "harness_settings.hpp"
#include "progress.hpp"
#include "workloads.hpp"

namespace bench::harness {

inline std::string self_dir() {
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

inline std::string generator_args(const bench::workload& w, double rate,
                                  double seconds, size_t lines) {
  std::ostringstream os;
  os << "--rate=" << static_cast<int64_t>(rate) << " --seconds=" << seconds
     << " --lines=" << lines << " --vocabulary=" << w.lines.vocabulary
     << " --zipf=" << w.lines.zipf << " --seed=" << w.lines.seed;
  return os.str();
}

class batch_recorder final : public caf_stream::streaming_listener {
public:
  void on_batch_completed(const caf_stream::batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    infos_.push_back(info);
  }

  std::vector<caf_stream::batch_info> infos() {
    std::lock_guard<std::mutex> guard{mtx_};
    return infos_;
  }

private:
  std::mutex mtx_;
  std::vector<caf_stream::batch_info> infos_;
};

// Batches a probe judges by: the first three (connecting) and the last two
// (the generator stopping mid-batch) are left out.
inline constexpr size_t warmup_batches = 3;
inline constexpr size_t tail_batches = 2;

inline double probe_seconds(const settings& s, int64_t interval_ms) {
  auto batches = static_cast<double>(s.probe_batches + warmup_batches
                                     + tail_batches);
  return std::max(2.0, batches * static_cast<double>(interval_ms) / 1000.0);
}

// The block interval of a probe: four blocks per worker and batch (as
// Spark's tuning guide advises a few tasks per core, so that a task held up
// by the receiver or the load generator on a shared core leaves the rest to
// the other workers), but none shorter than 5 ms.
inline caf_stream::duration probe_block_interval(const settings& s,
                                                 int64_t interval_ms) {
  auto workers = static_cast<int64_t>(s.workers);
  auto one_per_worker = std::max<int64_t>(1, interval_ms / workers);
  return caf_stream::duration{
    std::min(one_per_worker,
             std::max<int64_t>(5, interval_ms / (4 * workers)))};
}

// One run at a fixed offered rate: child process, real clock.
inline void run_probe(const settings& s, const bench::workload& w,
                      int64_t interval_ms, double rate, FILE* out) {
  auto seconds = probe_seconds(s, interval_ms);
  generator_process gen{generator_args(w, rate, seconds, 0)};
  auto opts = options(s);
  opts.block_interval = probe_block_interval(s, interval_ms);
  caf_stream::testing::temporary_directory dir;
  caf_stream::streaming_context ssc{caf_stream::duration{interval_ms}, opts};
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
inline std::pair<double, double> latency_percentiles(
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

inline probe_result probe(const settings& s, const bench::workload& w,
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
inline search_result search(const settings& s, const bench::workload& w,
                            int64_t interval_ms, double start,
                            bench::progress& pr) {
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
inline double tcp_baseline(const bench::workload& w, size_t lines) {
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

} // namespace bench::harness
