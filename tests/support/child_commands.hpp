#pragma once

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "caf_stream/streaming_context.hpp"
#include "caf_stream/testing/manual_clock.hpp"

namespace support {

/// The loop of a child program that a test drives through stdin: starts
/// `ssc`, prints "recovered" or "started", then for each line "tick"
/// advances `clk` one second and prints `after_tick(now in ms)`, and for
/// "stop" stops gracefully and prints "stopped". Other lines go to `other`,
/// if set, which prints what it likes. Returns the exit status.
inline int
run_commands(caf_stream::streaming_context& ssc,
             caf_stream::testing::manual_clock& clk,
             const std::function<std::string(int64_t)>& after_tick,
             const std::function<void(const std::string&)>& other = nullptr) {
  ssc.start();
  // After recovery the batches up to now run at once, before the next.
  std::cout << (ssc.is_recovered() ? "recovered" : "started") << std::endl;
  for (std::string cmd; std::getline(std::cin, cmd);) {
    if (cmd == "tick") {
      clk.advance(std::chrono::seconds(1));
      std::cout << after_tick(clk.now().milliseconds()) << std::endl;
    } else if (cmd == "stop") {
      ssc.stop(true);
      std::cout << "stopped" << std::endl;
      return 0;
    } else if (other) {
      other(cmd);
    }
  }
  return 0;
}

} // namespace support
