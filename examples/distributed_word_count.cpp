// Spark's NetworkWordCount on a cluster: one driver and worker nodes, all
// running this program. Counts the words of the lines a TCP server sends,
// every second.
//
//   distributed_word_count HOST PORT [--generate] [--seconds N]
//                          [--serve P] [--serve-address A]
//
// With --serve P the program is a worker node listening on 127.0.0.1:P
// (A:P with --serve-address): it builds the same graph and runs what the
// driver sends it, the socket receiver (which connects to HOST:PORT from
// the node) and the map tasks of each batch's word count. Without it, the
// program is the driver: name the nodes with
// '--stream.nodes=["host:P",...]', or let them join with
// --stream.driver-port D (nodes started with --stream.driver host:D). With
// nodes, the map and reduce tasks run on them unless
// --stream.task.placement=driver.

#include <iostream>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

struct config : network_config {
  uint16_t serve = 0;
  std::string serve_address;
  config() {
    opt_group{custom_options_, "global"}
      .add(serve, "serve", "be a worker node listening on this port")
      .add(serve_address, "serve-address",
           "the address a worker node listens on (127.0.0.1; 0.0.0.0: all)");
  }
};

} // namespace

int main(int argc, char** argv) {
  using namespace caf_stream;
  const char* usage = "distributed_word_count HOST PORT [--generate] "
                      "[--seconds N] [--serve P] [--serve-address A]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  std::string host;
  uint16_t port = 0;
  if (!host_and_port(cfg, usage, host, port))
    return 1;
  try {
    auto opts = read_stream_options(cfg);
    if (cfg.serve != 0 || opts.with_nodes())
      load_node_modules(cfg);
    std::unique_ptr<line_generator> generator;
    if (cfg.generate)
      generator = std::make_unique<line_generator>(port);
    caf::actor_system sys{cfg};
    streaming_context ssc{sys, std::chrono::seconds(1)};
    ssc.socket_text_stream(host, port)
      .flat_map(split_words)
      .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
      .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
      .print();
    if (cfg.serve != 0)
      return serve_until_stopped(ssc, cfg.serve, cfg.serve_address,
                                 cfg.seconds);
    ssc.start();
    return run_for(ssc, cfg.seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
