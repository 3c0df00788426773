#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "caf_stream/scheduler/preferred_nodes.hpp"

using namespace caf_stream;

using indexes = std::vector<size_t>;

namespace {

const std::vector<std::string> nodes{"10.0.0.1:4000", "10.0.0.2:4000",
                                     "10.0.0.1:4001", "worker-3:4000"};

} // namespace

TEST_CASE("a location that is a node's address names that node",
          "[scheduler][preferred_nodes]") {
  CHECK(preferred_nodes(nodes, {"10.0.0.1:4001"}) == indexes{2});
  CHECK(preferred_nodes(nodes, {"worker-3:4000"}) == indexes{3});
  // A block's node, then the node of its copy.
  CHECK(preferred_nodes(nodes, {"10.0.0.2:4000", "10.0.0.1:4000"})
        == indexes{1, 0});
}

TEST_CASE("a location that is a host names every node on it, in address "
          "order",
          "[scheduler][preferred_nodes]") {
  CHECK(preferred_nodes(nodes, {"10.0.0.1"}) == indexes{0, 2});
  CHECK(preferred_nodes(nodes, {"10.0.0.2"}) == indexes{1});
  CHECK(preferred_nodes(nodes, {"worker-3"}) == indexes{3});
  // Each node once, in the order of the locations.
  CHECK(preferred_nodes(nodes, {"10.0.0.1:4001", "10.0.0.1"})
        == indexes{2, 0});
}

TEST_CASE("a location that names no node adds none",
          "[scheduler][preferred_nodes]") {
  CHECK(preferred_nodes(nodes, {}).empty());
  CHECK(preferred_nodes(nodes, {"10.0.0.9"}).empty());
  // A port of no node, and a host's prefix or a port alone.
  CHECK(preferred_nodes(nodes, {"10.0.0.2:4001"}).empty());
  CHECK(preferred_nodes(nodes, {"10.0.0"}).empty());
  CHECK(preferred_nodes(nodes, {"4000"}).empty());
  CHECK(preferred_nodes(nodes, {"10.0.0.9", "worker-3"}) == indexes{3});
  CHECK(preferred_nodes({}, {"10.0.0.1"}).empty());
}
