// Word counts over the last 30 seconds, every 10 seconds, computed
// incrementally: each window adds the batches that entered it and subtracts,
// with the inverse function, those that left it. The window's state can
// live on state nodes, as in stateful_network_word_count.
//
//   windowed_word_count HOST PORT [--generate] [--seconds=N]
//                       [--checkpoint-dir=DIR] [--serve-state=P]
//                       [--serve-address=A]

#include <iostream>
#include <string>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"

#include "example_support.hpp"

int main(int argc, char** argv) {
  using namespace caf_stream;
  using std::chrono::seconds;
  const char* usage = "windowed_word_count HOST PORT [--generate] "
                      "[--seconds N] [--checkpoint-dir DIR] [--serve-state P] "
                      "[--serve-address A]";
  checkpointed_config cfg{"/tmp/caf_stream-windowed_word_count"};
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string host;
  uint16_t port = 0;
  if (!host_and_port(cfg, usage, host, port))
    return 1;
  try {
    std::unique_ptr<line_generator> generator;
    if (cfg.generate)
      generator = std::make_unique<line_generator>(port);
    cfg.load_middleman_if_needed();
    caf::actor_system sys{cfg};
    streaming_context ssc{sys, seconds(1)};
    ssc.checkpoint(cfg.checkpoint_dir);
    using count = std::pair<std::string, int64_t>;
    ssc.socket_text_stream(host, port)
      .flat_map(split_words)
      .map([](const std::string& w) { return count{w, 1}; })
      .reduce_by_key_and_window([](int64_t a, int64_t b) { return a + b; },
                                [](int64_t a, int64_t b) { return a - b; },
                                seconds(30), seconds(10), 0,
                                [](const count& x) { return x.second > 0; })
      .print();
    if (serve_state_if_asked(cfg, ssc))
      return 0;
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
