// The child process of the shutdown hook tests: a context with a 100 ms
// batch interval that saves every batch as text files under PREFIX and
// runs under a `shutdown_hook`, returning the hook's exit status.
//
//   caf_stream_shutdown_child PREFIX run|hang [log] [--stream.key=value ...]
//
// `run` prints "ready" once a batch has been saved; with `hang`, the first
// batch's task prints "writing" and never returns, with the batch's output
// directory half written. With `log`, what the context logs (the hook's
// lines among it) goes to stdout too.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/detail/log.hpp"

using namespace caf_stream;

int main(int argc, char** argv) {
  stream_config cfg;
  if (auto what = cfg.parse_command_line(argc, argv); !what.empty()) {
    std::fprintf(stderr, "%s\n", what.c_str());
    return 1;
  }
  auto& args = cfg.remainder;
  if (args.size() < 2 || args.size() > 3
      || (args.size() == 3 && args[2] != "log")) {
    std::fprintf(stderr, "usage: shutdown_child PREFIX run|hang [log]\n");
    return 1;
  }
  auto prefix = args[0];
  auto hang = args[1] == "hang";
  if (args.size() == 3)
    detail::logger("context")->sinks().push_back(
      std::make_shared<spdlog::sinks::stdout_sink_mt>());
  caf::actor_system sys{cfg};
  streaming_context ssc{sys, std::chrono::milliseconds(100)};
  auto queue = std::make_shared<rdd_queue<int>>();
  auto lines = ssc.queue_stream(queue, true,
                                ssc.parallelize(std::vector<int>{1, 2, 3}, 2));
  lines
    .map([hang](int x) {
      if (hang) {
        std::puts("writing");
        std::fflush(stdout);
        for (;;)
          ::pause();
      }
      return x;
    })
    .save_as_text_files(prefix);
  auto ready = std::make_shared<bool>(false);
  lines.foreach_rdd([ready](const rdd<int>&) {
    if (*ready)
      return;
    *ready = true;
    std::puts("ready");
    std::fflush(stdout);
  });
  shutdown_hook hook{ssc};
  ssc.start();
  ssc.await_termination();
  ssc.stop(true);
  return hook.exit_status();
}
