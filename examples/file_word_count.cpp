// Spark's HdfsWordCount on a local directory: counts the words of the files
// that appear in DIR, every 2 seconds. Files must appear whole (write them
// elsewhere and move them in); files present at the start are not read.
//
//   file_word_count DIR [--seconds=N]

#include <chrono>
#include <iostream>
#include <string>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "example_support.hpp"

int main(int argc, char** argv) {
  const char* usage = "file_word_count DIR [--seconds N]";
  example_config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (cfg.remainder.size() != 1) {
    std::cerr << "usage: " << usage << '\n';
    return 1;
  }
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(2)};
    ssc.text_file_stream(cfg.remainder[0])
      .flat_map(split_words)
      .map([](const std::string& w) { return std::make_pair(w, 1); })
      .reduce_by_key([](int a, int b) { return a + b; })
      .print();
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
