#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "caf_stream/scheduler/node_registry.hpp"

using namespace caf_stream;
using strings = std::vector<std::string>;

TEST_CASE("the node registry keeps the named nodes and those that joined",
          "[scheduler][nodes]") {
  node_registry nodes{{"10.0.0.1:4242", "10.0.0.2:4242"}};
  CHECK(nodes.nodes() == strings{"10.0.0.1:4242", "10.0.0.2:4242"});
  // Nodes that join come after the named ones, in the order they joined;
  // a node joins once, and a named node is known already.
  CHECK(nodes.join("10.0.0.7:4242"));
  CHECK(nodes.join("10.0.0.3:4242"));
  CHECK_FALSE(nodes.join("10.0.0.7:4242"));
  CHECK_FALSE(nodes.join("10.0.0.2:4242"));
  CHECK(nodes.nodes()
        == strings{"10.0.0.1:4242", "10.0.0.2:4242", "10.0.0.7:4242",
                   "10.0.0.3:4242"});
  // A node that joined leaves; a named node stays (it may come back on
  // its port), and so does one that never joined.
  CHECK(nodes.leave("10.0.0.7:4242"));
  CHECK_FALSE(nodes.leave("10.0.0.7:4242"));
  CHECK_FALSE(nodes.leave("10.0.0.1:4242"));
  CHECK_FALSE(nodes.leave("10.0.0.9:4242"));
  CHECK(nodes.nodes()
        == strings{"10.0.0.1:4242", "10.0.0.2:4242", "10.0.0.3:4242"});
  // It may join again.
  CHECK(nodes.join("10.0.0.7:4242"));
  CHECK(nodes.nodes().back() == "10.0.0.7:4242");
}

TEST_CASE("a node that listens on every interface is reached where its "
          "connection came from",
          "[scheduler][nodes]") {
  CHECK(node_registry::address_of("10.0.0.5", 4242, "10.0.0.9")
        == "10.0.0.5:4242");
  CHECK(node_registry::address_of("0.0.0.0", 4242, "10.0.0.9")
        == "10.0.0.9:4242");
  CHECK(node_registry::address_of("::", 4243, "10.0.0.9") == "10.0.0.9:4243");
  CHECK(node_registry::address_of("", 4244, "10.0.0.9") == "10.0.0.9:4244");
}

TEST_CASE("a node of another program or graph is refused", "[scheduler][nodes]") {
  CHECK(node_registry::refusal("worker node", "app a", "g1", "app a", "g1")
          .empty());
  CHECK(node_registry::refusal("worker node", "app a", "g1", "app b", "g1")
        == "the worker node runs another program: the driver is 'app a', "
           "this node 'app b'; start the node with the driver's executable, "
           "or give both the same stream.app-id");
  CHECK(node_registry::refusal("state node", "app a", "g1", "app a", "g2")
        == "the state node runs another graph: the driver's is 'g1', this "
           "node's 'g2'; start the node with the driver's program");
}
