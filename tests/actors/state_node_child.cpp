// A state node for the state node tests: builds the tests' graph
// (`support/state_graph.hpp`) and serves its state.
//
//   state_node_child [--other | --receiver=P | --receiver-records=P
//                     | --receiver-raw=P | --receiver-sums=P | --receiver-windows=P
//                     | --receiver-mapped-sums=P | --receiver-filtered=P
//                     | --words
//                     | --word-states | --word-joins | --word-mixed
//                     | --word-moves]
//                    [--port=N] [--address=A]
//                    [--app-id=I] [--tls=DIR/NAME] [--driver=HOST:PORT]
//                    [--parallelism=N] [--partitions=N] [--slots=N]
//                    [--fetch-chunk=N] [--log=COMPONENT]
//   state_node_child --drive=NODES [--tasks]
//   state_node_child --drive-port=P --expect=ADDRESS [--tasks]
//
// Prints "port <n>" once it listens (on N, default any free port, at A,
// default 127.0.0.1), then serves until its stdin closes or reads "stop".
// With --other it builds a different graph; with --receiver the graph of
// the worker receiver tests (`support/acked_source.hpp`), whose receiver
// reads the acked source on port P (with --receiver-records, storing its
// numbers one by one; with --receiver-raw, a `raw_socket_stream` of
// numbers from 127.0.0.1:P instead), with --receiver-sums,
// --receiver-windows and --receiver-filtered those of the kept block tests
// (`support::acked_sums`, `support::acked_windows`,
// `support::acked_filtered`; with --receiver-mapped-sums `acked_sums` whose
// numbers go through a map, as `nodes_chaos --mapped` runs it); with
// --words the graph of the node task tests (`support/word_graph.hpp`), with
// --word-states its stateful graph (`word_graph::build_stateful`), with
// --word-joins its joined graph (`word_graph::build_joined`), with
// --word-mixed its mixed graph (`word_graph::build_mixed`), with
// --word-moves its moved graph (`word_graph::build_moved`). The driver
// (the tests' executable) is another program: both say they are the
// application "state-node-tests" (I with --app-id). With --tls it talks TLS only,
// presenting DIR/NAME.pem (key DIR/NAME.key) and trusting DIR/ca.pem.
// With --driver it joins the driver at HOST:PORT (`stream.driver`), prints
// "joined" or "not joined" after its first try, and leaves the driver when
// it stops. With --parallelism it sets stream.default-parallelism to N;
// with --partitions the running sums of the tests' graph name N partitions
// (a program whose copies differ: the driver's names none); with --slots
// it has N task slots (stream.workers); with --fetch-chunk it fetches, and
// answers with its outputs, N bytes at most (stream.shuffle.fetch-chunk);
// with --log it prints what its COMPONENT logs ("receiver", say) to stdout
// too, after the port.
//
// With --drive it is the driver instead: runs `drive_input`'s batches with
// the state on NODES ("host:port,..."), prints each batch's running sums
// ("batch 1: a=1 b=2") or its failure ("batch 1 failed: ..."), then where
// the state was ("state on the nodes", or "state on the driver" if a node
// did not take its partitions), and exits. With --tasks it prints last
// where its map stages ran (the state streams' shuffles of each batch by
// key, on the nodes by default): "map tasks on the nodes", or "map tasks
// on the driver" if none ran on a node or a node failed some. With
// --drive-port it has no nodes of its own: it listens for nodes on port P
// of every interface, waits until the node ADDRESS joined and prints
// "joined ADDRESS" (or "no node joined"), then runs the batches.

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>

#include "caf/actor_system.hpp"
#include "caf/config_value.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/acked_source.hpp"
#include "support/log_capture.hpp"
#include "support/state_graph.hpp"
#include "support/word_graph.hpp"
#include "support/tls.hpp"

using namespace caf_stream;

namespace {

using kv = test::state_graph::kv;

// The driver's batches (those of the state holder tests' `input`).
const std::vector<std::vector<kv>> drive_input{{{"a", 1}, {"b", 2}},
                                               {{"a", 3}},
                                               {{"c", 1}, {"b", 1}},
                                               {},
                                               {{"a", 2}, {"c", 4}}};

// Each batch's running sums as a line, and the wait for a batch.
class printer final : public streaming_listener {
public:
  void sums(caf_stream::time t, std::vector<kv> xs) {
    std::sort(xs.begin(), xs.end());
    std::ostringstream line;
    line << "batch " << t.milliseconds() / 1000 << ":";
    for (auto& [key, value] : xs)
      line << ' ' << key << '=' << value;
    std::lock_guard<std::mutex> guard{mtx_};
    lines_[t.milliseconds() / 1000] = line.str();
  }

  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto k = info.batch_time.milliseconds() / 1000;
    if (info.failure_reason)
      lines_[k] = "batch " + std::to_string(k) + " failed: "
                  + *info.failure_reason;
    last_ = k;
    cv_.notify_all();
  }

  // Waits (bounded, for a stuck runtime) for batch `k`; returns its line.
  std::string wait_for(int64_t k) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds(120),
                      [&] { return last_ >= k; }))
      return "batch " + std::to_string(k) + " did not complete";
    return lines_[k];
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<int64_t, std::string> lines_;
  int64_t last_ = 0;
};

int drive(const std::string& nodes, uint16_t driver_port,
          const std::string& expect, bool tasks) {
  stream_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("stream.app-id", "state-node-tests");
  caf::config_value::list addresses;
  std::istringstream in{nodes};
  for (std::string x; std::getline(in, x, ',');)
    addresses.emplace_back(x);
  caf::put(cfg.content, "stream.nodes", std::move(addresses));
  if (driver_port != 0) {
    caf::put(cfg.content, "stream.driver-port", driver_port);
    cfg.set("stream.driver-bind-address", "0.0.0.0");
  }
  load_node_modules(cfg);
  support::log_capture log{"scheduler"};
  support::log_capture joins{"nodes"};
  // The executor's debug lines name the nodes that ran map tasks.
  support::log_capture executor{"executor"};
  support::debug_log debug{"executor"};
  caf::actor_system sys{cfg};
  testing::temporary_directory dir;
  auto clk = std::make_shared<testing::manual_clock>();
  auto queue = std::make_shared<rdd_queue<kv>>();
  auto out = std::make_shared<printer>();
  streaming_context ssc{sys, std::chrono::seconds(1), clk};
  ssc.checkpoint(dir.path());
  auto g = test::state_graph::build(ssc, queue);
  g.sums.foreach_rdd([out](const rdd<kv>& x, caf_stream::time t) {
    out->sums(t, x.collect());
  });
  ssc.add_streaming_listener(out);
  ssc.start();
  if (driver_port != 0)
    std::cout << (joins.wait_for("the worker node " + expect + " joined")
                    ? "joined " + expect
                    : std::string{"no node joined"})
              << std::endl;
  for (size_t k = 0; k < drive_input.size(); ++k) {
    queue->push(parallelize(drive_input[k], 2));
    clk->advance(std::chrono::seconds(1));
    std::cout << out->wait_for(static_cast<int64_t>(k + 1)) << std::endl;
  }
  ssc.stop();
  auto on_nodes = log.contains("holder on ")
                  && !log.contains("this node holds it");
  std::cout << (on_nodes ? "state on the nodes" : "state on the driver")
            << std::endl;
  if (tasks)
    std::cout << (executor.contains("ran on the worker node")
                      && !executor.contains("run again elsewhere")
                    ? "map tasks on the nodes"
                    : "map tasks on the driver")
              << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bool other = false;
  uint16_t port = 0;
  std::string app_id = "state-node-tests";
  std::string tls;
  std::string address;
  uint16_t receiver_port = 0;
  bool one_by_one = false;
  bool raw = false;
  bool sums = false;
  bool mapped = false;
  bool windows = false;
  bool filtered = false;
  bool words = false;
  bool word_states = false;
  bool word_joins = false;
  bool word_mixed = false;
  bool word_moves = false;
  std::string driver;
  std::string drive_nodes;
  uint16_t drive_port = 0;
  std::string expect;
  bool tasks = false;
  size_t parallelism = 0;
  size_t partitions = 0;
  size_t slots = 0;
  size_t fetch_chunk = 0;
  std::string log_component;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--other")
      other = true;
    else if (arg.rfind("--port=", 0) == 0)
      port = static_cast<uint16_t>(std::stoi(arg.substr(7)));
    else if (arg.rfind("--app-id=", 0) == 0)
      app_id = arg.substr(9);
    else if (arg.rfind("--tls=", 0) == 0)
      tls = arg.substr(6);
    else if (arg.rfind("--address=", 0) == 0)
      address = arg.substr(10);
    else if (arg.rfind("--receiver=", 0) == 0)
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(11)));
    else if (arg.rfind("--receiver-records=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(19)));
      one_by_one = true;
    } else if (arg.rfind("--receiver-raw=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(15)));
      raw = true;
    } else if (arg.rfind("--receiver-sums=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(16)));
      sums = true;
    } else if (arg.rfind("--receiver-mapped-sums=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(23)));
      sums = true;
      mapped = true;
    } else if (arg.rfind("--receiver-windows=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(19)));
      windows = true;
    } else if (arg.rfind("--receiver-filtered=", 0) == 0) {
      receiver_port = static_cast<uint16_t>(std::stoi(arg.substr(20)));
      filtered = true;
    }
    else if (arg == "--words")
      words = true;
    else if (arg == "--word-states")
      word_states = true;
    else if (arg == "--word-joins")
      word_joins = true;
    else if (arg == "--word-mixed")
      word_mixed = true;
    else if (arg == "--word-moves")
      word_moves = true;
    else if (arg.rfind("--driver=", 0) == 0)
      driver = arg.substr(9);
    else if (arg.rfind("--drive=", 0) == 0)
      drive_nodes = arg.substr(8);
    else if (arg.rfind("--drive-port=", 0) == 0)
      drive_port = static_cast<uint16_t>(std::stoi(arg.substr(13)));
    else if (arg.rfind("--expect=", 0) == 0)
      expect = arg.substr(9);
    else if (arg == "--tasks")
      tasks = true;
    else if (arg.rfind("--parallelism=", 0) == 0)
      parallelism = static_cast<size_t>(std::stoul(arg.substr(14)));
    else if (arg.rfind("--partitions=", 0) == 0)
      partitions = static_cast<size_t>(std::stoul(arg.substr(13)));
    else if (arg.rfind("--slots=", 0) == 0)
      slots = static_cast<size_t>(std::stoul(arg.substr(8)));
    else if (arg.rfind("--fetch-chunk=", 0) == 0)
      fetch_chunk = static_cast<size_t>(std::stoul(arg.substr(14)));
    else if (arg.rfind("--log=", 0) == 0)
      log_component = arg.substr(6);
  }
  if (!drive_nodes.empty() || drive_port != 0)
    return drive(drive_nodes, drive_port, expect, tasks);
  stream_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("stream.app-id", app_id);
  if (!tls.empty())
    support::use_certificate(cfg, tls);
  if (!driver.empty())
    cfg.set("stream.driver", driver);
  if (parallelism != 0)
    cfg.set("stream.default-parallelism", parallelism);
  if (slots != 0)
    cfg.set("stream.workers", slots);
  if (fetch_chunk != 0)
    caf::put(cfg.content, "stream.shuffle.fetch-chunk", fetch_chunk);
  // The worker receiver tests: records stored one by one leave only when
  // the driver cuts a batch (blocks stored whole leave in `store`).
  if (receiver_port != 0)
    cfg.set("stream.block-interval", caf::timespan{std::chrono::hours(1)});
  load_node_modules(cfg);
  if (!log_component.empty())
    caf_stream::detail::logger(log_component)
      ->sinks()
      .push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  support::log_capture log{"node"};
  caf::actor_system sys{cfg};
  try {
    streaming_context ssc{sys, std::chrono::seconds(1)};
    if (sums) {
      support::acked_sums(ssc, receiver_port, [](const rdd<int64_t>&) {},
                          [](const rdd<support::residue_sum>&) {}, mapped);
    } else if (windows) {
      support::acked_windows(ssc, receiver_port, [](const rdd<int64_t>&) {});
    } else if (filtered) {
      support::acked_filtered(ssc, receiver_port, [](const rdd<int64_t>&) {});
    } else if (raw) {
      ssc.raw_socket_stream<int64_t>("127.0.0.1", receiver_port)
        .foreach_rdd([](const rdd<int64_t>&) {});
    } else if (receiver_port != 0) {
      support::acked_stream(ssc, receiver_port, !one_by_one)
        .foreach_rdd([](const rdd<int64_t>&) {});
    } else if (words) {
      test::word_graph::build(ssc,
                              std::make_shared<rdd_queue<std::string>>())
        .foreach_rdd([](const rdd<test::word_graph::count>&) {});
    } else if (word_states) {
      auto g = test::word_graph::build_stateful(
        ssc, std::make_shared<rdd_queue<std::string>>());
      g.windowed.foreach_rdd([](const rdd<test::word_graph::count>&) {});
      g.totals.foreach_rdd([](const rdd<test::word_graph::count>&) {});
    } else if (word_joins) {
      test::word_graph::build_joined(
        ssc, std::make_shared<rdd_queue<std::string>>())
        .foreach_rdd([](const rdd<test::word_graph::count>&) {});
    } else if (word_mixed) {
      test::word_graph::build_mixed(
        ssc, std::make_shared<rdd_queue<std::string>>())
        .foreach_rdd([](const rdd<test::word_graph::count>&) {});
    } else if (word_moves) {
      test::word_graph::build_moved(
        ssc, std::make_shared<rdd_queue<std::string>>())
        .foreach_rdd([](const rdd<test::word_graph::count>&) {});
    } else {
      test::state_graph::build(
        ssc, std::make_shared<rdd_queue<test::state_graph::kv>>(), other,
        partitions);
    }
    auto bound = ssc.serve(port, address);
    std::cout << "port " << bound << std::endl;
    // Each outcome of a try names "the driver at".
    if (!driver.empty() && log.wait_for("the driver at"))
      std::cout << (log.contains("joined the driver at") ? "joined"
                                                          : "not joined")
                << std::endl;
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
