// Spark's QueueStream example: pushes an RDD of the numbers 1..1000 into a
// queue every second and counts, per batch, how many end in each digit.
//
//   queue_stream [--rdds=N]   (default: 5 RDDs, then stops)

#include <chrono>
#include <iostream>
#include <numeric>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/config_option_adder.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

struct config : caf_stream::stream_config {
  int rdds = 5;
  config() {
    opt_group{custom_options_, "global"}.add(rdds, "rdds",
                                             "number of RDDs to push");
  }
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (!parse_args(cfg, argc, argv, "queue_stream [--rdds N]"))
    return cfg.cli_helptext_printed ? 0 : 1;
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto queue = std::make_shared<caf_stream::rdd_queue<int>>();
    auto numbers = ssc.queue_stream(queue);
    numbers.map([](int x) { return std::make_pair(x % 10, 1); })
      .reduce_by_key([](int a, int b) { return a + b; })
      .print();
    ssc.start();
    std::vector<int> data(1000);
    std::iota(data.begin(), data.end(), 1);
    for (int i = 0; i < cfg.rdds; ++i) {
      queue->push(ssc.parallelize(data, 10));
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    ssc.stop(true);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
