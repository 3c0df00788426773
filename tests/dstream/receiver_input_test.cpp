#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/dstream/receiver_input.hpp"

using namespace caf_stream;

// A batch's input as a worker node gets it: each partition's records as
// bytes, read where a task reads them.

namespace {

using lines = std::vector<std::string>;

template <class T>
std::vector<T> computed(const detail::rdd_node<T>& node, size_t index) {
  std::vector<T> result;
  node.compute(index, [&](const T& x) { result.push_back(x); });
  return result;
}

} // namespace

TEST_CASE("partitions that came as bytes read as their records, a "
          "left-out partition as none",
          "[dstream][nodes]") {
  // Partition 1 was left out for this node; partition 2 is empty.
  detail::encoded_partitions_node<std::string> node{
    {detail::to_bytes(lines{"a b", "", "c"}), "", detail::to_bytes(lines{}),
     detail::to_bytes(lines{"d"})}};
  REQUIRE(node.num_partitions() == 4);
  CHECK(computed(node, 0) == lines{"a b", "", "c"});
  CHECK(computed(node, 1).empty());
  CHECK(computed(node, 2).empty());
  CHECK(computed(node, 3) == lines{"d"});
  CHECK(node.materialize(0) == lines{"a b", "", "c"});
  CHECK(node.materialize(1).empty());
  // Each task reads its partition anew.
  CHECK(computed(node, 0) == lines{"a b", "", "c"});
}

TEST_CASE("partitions of pairs that came as bytes read as their records",
          "[dstream][nodes]") {
  using kv = std::pair<std::string, int64_t>;
  detail::encoded_partitions_node<kv> node{
    {detail::to_bytes(std::vector<kv>{{"a", 1}, {"b", 2}}),
     detail::to_bytes(std::vector<kv>{{"c", 3}})}};
  CHECK(computed(node, 0) == std::vector<kv>{{"a", 1}, {"b", 2}});
  CHECK(computed(node, 1) == std::vector<kv>{{"c", 3}});
}

TEST_CASE("a partition whose bytes are cut short fails the task that "
          "reads it",
          "[dstream][nodes]") {
  auto bytes = detail::to_bytes(lines{"abc", "defgh"});
  bytes.resize(bytes.size() - 2);
  detail::encoded_partitions_node<std::string> node{{bytes}};
  lines seen;
  CHECK_THROWS(
    node.compute(0, [&](const std::string& x) { seen.push_back(x); }));
  // The records before the cut went through; none was made up.
  CHECK(seen == lines{"abc"});
  CHECK_THROWS(node.materialize(0));
}
