#pragma once

// What the harness writes (`harness.cpp`): a JSON record per workload,
// results.md, and the data, gnuplot script and PNGs of the TCP searches.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness_settings.hpp"
#include "harness_tcp.hpp"

namespace bench::harness {

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

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

inline std::string fixed(double x, int digits = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

inline std::string workload_json(const settings& s, const engine_result* e,
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

inline void write_plots(const settings& s,
                        const std::vector<search_result>& searches) {
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

inline std::string markdown(const settings& s,
                            const std::vector<engine_result>& es,
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

} // namespace bench::harness
