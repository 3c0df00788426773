// A state node for the state node tests: builds the tests' graph
// (`support/state_graph.hpp`) and serves its state on 127.0.0.1.
//
//   state_node_child [--other] [--port=N]
//
// Prints "port <n>" once it listens (on N, default any free port), then
// serves until its stdin closes or reads "stop". With --other it builds a
// different graph.

#include <iostream>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "support/state_graph.hpp"

using namespace caf_stream;

int main(int argc, char** argv) {
  bool other = false;
  uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--other")
      other = true;
    else if (arg.rfind("--port=", 0) == 0)
      port = static_cast<uint16_t>(std::stoi(arg.substr(7)));
  }
  stream_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  try {
    streaming_context ssc{sys, std::chrono::seconds(1)};
    test::state_graph::build(
      ssc, std::make_shared<rdd_queue<test::state_graph::kv>>(), other);
    auto bound = ssc.serve_state(port, "127.0.0.1");
    std::cout << "port " << bound << std::endl;
    for (std::string cmd; std::getline(std::cin, cmd) && cmd != "stop";) {
      // nop
    }
    ssc.stop();
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
