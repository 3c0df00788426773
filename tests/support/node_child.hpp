#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/acked_source.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"

namespace support {

/// A `state_node_child` process, a worker node serving one of the tests'
/// graphs, and the "host:port" it listens on; `flags` as `state_node_child`
/// takes them. For the test executable, which knows the child's path
/// (`CAF_STREAM_STATE_NODE_CHILD`).
struct node_child {
  explicit node_child(std::vector<std::string> flags = {})
    : proc(args(std::move(flags))) {
    auto line = proc.read_line();
    REQUIRE(line.rfind("port ", 0) == 0);
    port = line.substr(5);
    address = "127.0.0.1:" + port;
  }

  /// Reads what the child prints until a line contains `text` (a line it
  /// logged, with `--log`); returns whether one did before its output
  /// ended or 120 s passed without a line (a bound for a stuck child).
  bool wait_for_line(const std::string& text) {
    return proc.wait_for_line(text);
  }

  static std::vector<std::string> args(std::vector<std::string> flags) {
    flags.insert(flags.begin(), CAF_STREAM_STATE_NODE_CHILD);
    return flags;
  }

  child_process proc;
  std::string port;
  std::string address;
};

/// Waits until receiver 0 runs on `node` (`log` captures the "receiver"
/// logger) and `node` acknowledged the numbers below `n` of `source`, with
/// no batch cut meanwhile.
inline void wait_acked_on(const node_child& node, acked_source& source,
                          log_capture& log, int64_t n) {
  REQUIRE(log.wait_for("receiver 0 runs on the worker node " + node.address));
  REQUIRE(source.wait_acked(n, std::chrono::seconds(120)));
}

/// Kills `node` (SIGKILL), waits until the driver saw receiver 0's node
/// lost (`log` captures the "receiver" logger), then cuts the driver's next
/// batch and waits for it; returns the failures of its batches so far.
/// `Driver` is a test's driver under a manual clock: its `clk`, its
/// `out` (a `batch_waiter`) and the number of batches it `cut`.
template <class Driver>
std::vector<std::string> kill_then_cut(node_child& node, log_capture& log,
                                       Driver& d) {
  node.proc.kill();
  REQUIRE(log.wait_for("receiver 0: its node " + node.address
                       + " was lost"));
  d.clk->advance(std::chrono::seconds(1));
  d.out->wait_for(++d.cut);
  return d.out->failures();
}

} // namespace support
