#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/scheduler/remote_blocks.hpp"

using namespace caf_stream;

namespace {

using ids = std::vector<uint64_t>;

block kept_on(const std::shared_ptr<const block_holder>& holder,
              const std::string& node, uint64_t id) {
  block b;
  b.records = 10;
  b.id = id;
  b.location = node;
  b.holder = holder;
  return b;
}

// The released ids by node.
std::map<std::string, ids>
by_node(const std::vector<remote_blocks::release>& xs) {
  std::map<std::string, ids> result;
  for (const auto& x : xs) {
    CHECK(x.holder != nullptr);
    result[x.location] = x.ids;
  }
  return result;
}

} // namespace

TEST_CASE("the blocks worker nodes keep go, by node, once their batches are "
          "done with",
          "[scheduler][remote_blocks]") {
  auto a = std::make_shared<const block_holder>();
  auto b = std::make_shared<const block_holder>();
  remote_blocks kept;
  // Batch 1000: blocks 1 and 2 on node a (stream 0), 5 on node b (stream
  // 1), and one the driver holds itself. Batch 2000: block 3 on node a.
  block here;
  here.records = 4;
  kept.add(caf_stream::time{1000},
           {{0, {kept_on(a, "a:1", 1), kept_on(a, "a:1", 2), here}},
            {1, {kept_on(b, "b:2", 5)}}});
  kept.add(caf_stream::time{2000}, {{0, {kept_on(a, "a:1", 3)}}});
  CHECK(kept.size() == 4);
  CHECK(kept.take_until(caf_stream::time{500}).empty());
  CHECK(by_node(kept.take_until(caf_stream::time{1000}))
        == std::map<std::string, ids>{{"a:1", {1, 2}}, {"b:2", {5}}});
  CHECK(kept.size() == 1);
  kept.add(caf_stream::time{3000}, {{0, {kept_on(a, "a:1", 4)}}});
  // Two batches at once: one release per node.
  CHECK(by_node(kept.take_until(caf_stream::time{3000}))
        == std::map<std::string, ids>{{"a:1", {3, 4}}});
  CHECK(kept.size() == 0);
}

TEST_CASE("a block with a copy on a second node is released on both",
          "[scheduler][remote_blocks]") {
  auto a = std::make_shared<const block_holder>();
  auto b = std::make_shared<const block_holder>();
  remote_blocks kept;
  // Block 1 on node a with its copy on b, block 2 on b with its copy on a,
  // block 3 on a only.
  auto copied = [](block x, const std::shared_ptr<const block_holder>& to,
                   const std::string& node) {
    x.replica_location = node;
    x.replica = to;
    return x;
  };
  kept.add(caf_stream::time{1000},
           {{0,
             {copied(kept_on(a, "a:1", 1), b, "b:2"),
              copied(kept_on(b, "b:2", 2), a, "a:1"), kept_on(a, "a:1", 3)}}});
  CHECK(kept.size() == 5);
  CHECK(by_node(kept.take_until(caf_stream::time{1000}))
        == std::map<std::string, ids>{{"a:1", {1, 2, 3}}, {"b:2", {1, 2}}});
  CHECK(kept.size() == 0);
}
