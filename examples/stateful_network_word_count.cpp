// Spark's StatefulNetworkWordCount: running totals of the words a TCP server
// sends, with map_with_state; every second prints the new totals of the
// words that came in. "hello" and "world" start at 1 (the initial state).
// The same program is also a state node: with --serve-state=P it holds the
// state for a driver started with --stream.state-nodes=["host:P",...].
//
//   stateful_network_word_count HOST PORT [--generate] [--seconds=N]
//                               [--checkpoint-dir=DIR] [--serve-state=P]
//                               [--serve-address=A]

#include <iostream>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"

#include "example_support.hpp"

int main(int argc, char** argv) {
  using namespace caf_stream;
  const char* usage = "stateful_network_word_count HOST PORT [--generate] "
                      "[--seconds N] [--checkpoint-dir DIR] [--serve-state P] "
                      "[--serve-address A]";
  checkpointed_config cfg{"/tmp/caf_stream-stateful_network_word_count"};
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
    streaming_context ssc{sys, std::chrono::seconds(1)};
    ssc.checkpoint(cfg.checkpoint_dir);
    auto initial = ssc.parallelize(std::vector<std::pair<std::string, int64_t>>{
      {"hello", 1}, {"world", 1}});
    auto running_total = [](const std::string& word, std::optional<int64_t> one,
                            state<int64_t>& total) {
      auto sum = one.value_or(0) + total.get_option().value_or(0);
      total.update(sum);
      return std::make_pair(word, sum);
    };
    ssc.socket_text_stream(host, port)
      .flat_map(split_words)
      .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
      .map_with_state(
        state_spec::function(running_total).initial_state(initial))
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
