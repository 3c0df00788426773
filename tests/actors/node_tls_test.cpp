#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/config_value.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_results.hpp"
#include "support/certificates.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"
#include "support/node_child.hpp"
#include "support/ports.hpp"
#include "support/state_graph.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// TLS between a driver (this test) and a state node (`state_node_child`):
// with certificates configured, both sides present one the CA signed, and a
// node without TLS or with a certificate of another CA is refused. The
// certificates are made with the openssl command line tool.

namespace {

using kv = test::state_graph::kv;
using sums = std::vector<kv>;
// A batch's running sums and sums over the window.
using outputs = std::pair<sums, sums>;

using support::certificates;
using state_node = support::node_child;

// A driver under a manual clock whose state lives on `nodes`, and on the
// nodes that join it at `driver_port`, talking TLS with the certificate
// `tls` ("DIR/NAME") and the CA next to it; its map stages go to the nodes
// too (by default).
struct driver {
  driver(const std::vector<std::string>& nodes, const std::string& tls,
         uint16_t driver_port = 0)
    : clk(std::make_shared<testing::manual_clock>()),
      queue(std::make_shared<rdd_queue<kv>>()),
      results(std::make_shared<support::batch_results<outputs>>()) {
    caf::config_value::list addresses;
    for (const auto& x : nodes)
      addresses.emplace_back(x);
    if (!addresses.empty())
      caf::put(cfg.content, "stream.nodes", std::move(addresses));
    if (driver_port != 0)
      caf::put(cfg.content, "stream.driver-port", driver_port);
    caf::put(cfg.content, "stream.app-id", "state-node-tests");
    caf::put(cfg.content, "stream.state-timeout", caf::timespan{seconds(10)});
    cfg.set("scheduler.max-threads", size_t{2});
    support::use_certificate(cfg, tls);
    load_node_modules(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    ssc = std::make_unique<streaming_context>(*sys, seconds(1), clk);
    ssc->checkpoint(checkpoints.path());
    auto g = test::state_graph::build(*ssc, queue);
    record(g.sums, &outputs::first);
    record(g.windows, &outputs::second);
    ssc->add_streaming_listener(results);
    ssc->start();
  }

  ~driver() {
    ssc->stop();
  }

  // Keeps each batch's records of `s` as `which` of its outputs, sorted.
  void record(const dstream<kv>& s, sums outputs::*which) {
    auto r = results;
    s.foreach_rdd([r, which](const rdd<kv>& x, caf_stream::time t) {
      auto xs = x.collect();
      std::sort(xs.begin(), xs.end());
      r->update(t.milliseconds(),
                [&](outputs& out) { out.*which = std::move(xs); });
    });
  }

  // Runs the next batch on `input`; returns the running sums after it
  // (`windows`: the sums over the window).
  sums run(std::vector<kv> input) {
    queue->push(parallelize(std::move(input), 2));
    clk->advance(seconds(1));
    auto result = results->wait_for(clk->now().milliseconds());
    REQUIRE(result);
    windows = result->second;
    return result->first;
  }

  stream_config cfg;
  testing::temporary_directory checkpoints;
  std::shared_ptr<testing::manual_clock> clk;
  std::shared_ptr<rdd_queue<kv>> queue;
  std::shared_ptr<support::batch_results<outputs>> results;
  sums windows;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<streaming_context> ssc;
};

} // namespace

TEST_CASE("a driver and a state node talk mutual TLS, and refuse peers "
          "without TLS or with another CA's certificate",
          "[actors][state][tls]") {
  certificates certs;
  SECTION("both certificates signed by the CA: the state and the map "
          "tasks are on the node") {
    support::log_capture log{"scheduler"};
    support::log_capture executor{"executor"};
    support::debug_log debug{"executor"};
    state_node node{{"--tls=" + certs["node"]}};
    driver d{{node.address}, certs["driver"]};
    CHECK(d.run({{"a", 1}, {"b", 2}}) == sums{{"a", 1}, {"b", 2}});
    CHECK(d.run({{"a", 3}}) == sums{{"a", 4}, {"b", 2}});
    CHECK(log.contains("holder on " + node.address));
    CHECK_FALSE(log.contains("this node holds it"));
    CHECK(executor.contains("ran on the worker node " + node.address));
    CHECK_FALSE(executor.contains("run again elsewhere"));
  }
  SECTION("a node without TLS is refused: the driver holds the state") {
    support::log_capture log{"scheduler"};
    state_node node{{}};
    driver d{{node.address}, certs["driver"]};
    CHECK(d.run({{"a", 1}, {"b", 2}}) == sums{{"a", 1}, {"b", 2}});
    CHECK(log.contains("cannot reach the state node " + node.address));
    CHECK(log.contains("over TLS"));
    CHECK(log.contains("this node holds it"));
  }
  SECTION("a node whose certificate another CA signed is refused") {
    support::log_capture log{"scheduler"};
    state_node node{{"--tls=" + certs["stranger"]}};
    driver d{{node.address}, certs["driver"]};
    CHECK(d.run({{"a", 1}, {"b", 2}}) == sums{{"a", 1}, {"b", 2}});
    CHECK(log.contains("cannot reach the state node " + node.address));
    CHECK(log.contains("this node holds it"));
  }
}

TEST_CASE("a worker node joins a driver over mutual TLS, nodes without TLS "
          "or with another CA's certificate cannot",
          "[actors][state][tls][nodes]") {
  certificates certs;
  support::log_capture log{"scheduler"};
  support::log_capture nodes{"nodes"};
  auto [d, port] = support::make_on_free_port([&](uint16_t free) {
    return std::make_unique<driver>(std::vector<std::string>{}, certs["driver"],
                                     free);
  });
  auto at = "--driver=127.0.0.1:" + std::to_string(port);
  state_node plain{{at}};
  CHECK(plain.proc.read_line() == "not joined");
  state_node stranger{{at, "--tls=" + certs["stranger"]}};
  CHECK(stranger.proc.read_line() == "not joined");
  state_node node{{at, "--tls=" + certs["node"]}};
  CHECK(node.proc.read_line() == "joined");
  CHECK(nodes.contains("the worker node " + node.address
                       + " joined: 1 worker node in all"));
  // The first batch places the state on the node that joined.
  CHECK(d->run({{"a", 1}, {"b", 2}}) == sums{{"a", 1}, {"b", 2}});
  CHECK(d->run({{"a", 3}}) == sums{{"a", 4}, {"b", 2}});
  CHECK(log.contains("holder on " + node.address));
  CHECK_FALSE(log.contains("this node holds it"));
}

TEST_CASE("two worker nodes fetch the buckets of their reduce tasks from "
          "each other over mutual TLS",
          "[actors][state][tls][nodes][tasks]") {
  certificates certs;
  support::log_capture log{"executor"};
  support::debug_log debug{"executor"};
  state_node a{{"--tls=" + certs["node"]}};
  state_node b{{"--tls=" + certs["node"]}};
  driver d{{a.address, b.address}, certs["driver"]};
  // The window's per-batch reduce_by_key runs its map and reduce tasks on
  // both nodes, and each reduce task reads the other node's buckets too.
  CHECK(d.run({{"a", 1}, {"b", 2}}) == sums{{"a", 1}, {"b", 2}});
  CHECK(d.windows == sums{{"a", 1}, {"b", 2}});
  CHECK(d.run({{"a", 3}, {"c", 4}}) == sums{{"a", 4}, {"b", 2}, {"c", 4}});
  CHECK(d.windows == sums{{"a", 4}, {"b", 2}, {"c", 4}});
  CHECK(d.run({{"b", 1}, {"c", 5}}) == sums{{"a", 4}, {"b", 3}, {"c", 9}});
  CHECK(d.windows == sums{{"a", 3}, {"b", 1}, {"c", 9}});
  for (const auto& node : {a.address, b.address})
    CHECK(log.contains("reduce tasks of stream 3 ran on the worker node "
                       + node));
  CHECK_FALSE(log.contains("run on the driver"));
  CHECK_FALSE(log.contains("run again elsewhere"));
}
