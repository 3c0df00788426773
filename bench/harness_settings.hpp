#pragma once

// The harness's command line (`harness.cpp`).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads.hpp"

namespace bench::harness {

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

inline settings parse(int argc, char** argv) {
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

inline caf_stream::stream_options options(const settings& s) {
  auto opts = bench::options();
  opts.workers = s.workers;
  opts.default_parallelism = s.workers;
  return opts;
}

inline const bench::workload&
find_workload(const std::vector<bench::workload>& all,
              const std::string& name) {
  for (auto& w : all)
    if (w.name == name)
      return w;
  throw std::invalid_argument("unknown workload '" + name
                              + "' (grep, word_count, top_k, windowed, "
                                "running_usbk, running_mws)");
}

} // namespace bench::harness
