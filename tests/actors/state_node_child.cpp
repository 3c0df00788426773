// A state node for the state node tests: builds the tests' graph
// (`support/state_graph.hpp`) and serves its state on 127.0.0.1.
//
//   state_node_child [other]
//
// Prints "port <n>" once it listens, then serves until its stdin closes or
// reads "stop". With "other" it builds a different graph.

#include <iostream>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "support/state_graph.hpp"

using namespace caf_stream;

int main(int argc, char** argv) {
  bool other = argc > 1 && std::string{argv[1]} == "other";
  stream_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  try {
    streaming_context ssc{sys, std::chrono::seconds(1)};
    test::state_graph::build(
      ssc, std::make_shared<rdd_queue<test::state_graph::kv>>(), other);
    auto port = ssc.serve_state(0, "127.0.0.1");
    std::cout << "port " << port << std::endl;
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
