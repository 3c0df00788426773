#pragma once

// Runs of the harness in child processes of their own (so that peak memory
// is that run's), which report through a pipe, one "key values..." line
// each.

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench::harness {

inline long peak_rss_kb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Bytes of heap the process's allocations hold (malloc's main arena and
// its separately mapped blocks), with malloc's own overhead per block.
inline size_t heap_in_use() {
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
inline report collect(const child& c) {
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

} // namespace bench::harness
