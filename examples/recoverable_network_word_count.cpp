// Spark's RecoverableNetworkWordCount: running word totals that survive a
// restart. Kill the program (Ctrl-C or kill -9) and start it again with the
// same CHECKPOINT_DIR: get_or_create restores the totals of the last
// checkpoint and they continue from there. Lines received after that
// checkpoint and before the kill are lost, as in Spark without a write-ahead
// log; with --stream.receiver.write-ahead-log.enable only those of the last
// block interval are (a socket cannot send again what it sent: the log
// keeps what was sealed into blocks).
//
//   recoverable_network_word_count HOST PORT CHECKPOINT_DIR [--generate]
//                                  [--seconds=N]

#include <iostream>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"

#include "example_support.hpp"

int main(int argc, char** argv) {
  using namespace caf_stream;
  const char* usage = "recoverable_network_word_count HOST PORT CHECKPOINT_DIR "
                      "[--generate] [--seconds N]";
  network_config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string host;
  uint16_t port = 0;
  if (!host_and_port(cfg, usage, host, port))
    return 1;
  if (cfg.remainder.size() != 3) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  auto checkpoint_dir = cfg.remainder[2];
  try {
    std::unique_ptr<line_generator> generator;
    if (cfg.generate)
      generator = std::make_unique<line_generator>(port);
    caf::actor_system sys{cfg};
    // The graph is built the same way on every start; on a restart the
    // context then resumes from the checkpoint.
    auto ssc = streaming_context::get_or_create(checkpoint_dir, [&] {
      std::cout << "Creating new context" << std::endl;
      auto ctx = std::make_unique<streaming_context>(sys, std::chrono::seconds(1));
      ctx->checkpoint(checkpoint_dir);
      ctx->socket_text_stream(host, port)
        .flat_map(split_words)
        .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
        .update_state_by_key(
          [](const std::vector<int64_t>& ones, std::optional<int64_t> total) {
            return std::optional<int64_t>{total.value_or(0)
                                          + static_cast<int64_t>(ones.size())};
          })
        .checkpoint(std::chrono::seconds(2))
        .print();
      return ctx;
    });
    if (ssc->is_recovered())
      std::cout << "Recovered from " << checkpoint_dir << std::endl;
    ssc->start();
    return run_for(*ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
