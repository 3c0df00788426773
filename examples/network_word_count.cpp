// Spark's NetworkWordCount: counts the words of the lines a TCP server sends,
// every second.
//
//   network_word_count HOST PORT [--output-prefix P] [--generate]
//
// With --generate the program also runs a line generator on HOST:PORT
// (a TCP server of its own on 127.0.0.1), so it shows counts on its own.
// Stops after --seconds N (default: runs until killed). Options take
// `--key value` or `--key=value`.

#include <iostream>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

struct config : network_config {
  std::string output_prefix;
  config() {
    opt_group{custom_options_, "global"}.add(output_prefix, "output-prefix",
                                             "also save counts under prefix P");
  }
};

} // namespace

int main(int argc, char** argv) {
  const char* usage = "network_word_count HOST PORT [--output-prefix P] "
                      "[--generate] [--seconds N]";
  config cfg;
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
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto lines = ssc.socket_text_stream(host, port);
    auto words = lines.flat_map(split_words);
    auto counts = words.map([](const std::string& w) {
                         return std::make_pair(w, int64_t{1});
                       })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    counts.print();
    if (!cfg.output_prefix.empty())
      counts.save_as_text_files(cfg.output_prefix, "txt");
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
