#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/dstream/queue_input.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/receiver/block.hpp"

#include "stage_inputs.hpp"

using namespace caf_stream;
using actors::stage_inputs;

// The inputs a batch's map stages carry to worker nodes: the blocks and
// generated partitions each node's tasks read, as bytes, and nothing of
// the blocks a node keeps itself.

namespace {

using lines = std::vector<std::string>;

// Block `records` of receiver stream 0, by pointer.
block lines_block(lines records) {
  return detail::make_block<std::string>(
    0, std::make_shared<const lines>(std::move(records)));
}

// Block `records`, kept on the worker node `node`.
block kept_block(lines records, const std::string& node) {
  auto result = lines_block(std::move(records));
  result.id = 42;
  result.location = node;
  result.holder = std::make_shared<const block_holder>();
  return result;
}

// A batch at 1 s with 3 blocks of receiver stream 0 (the first kept on
// node "n1") and generated input 7, whose 3 partitions came as bytes.
job_set batch() {
  job_set result;
  result.batch_time = caf_stream::time{1000};
  result.blocks[0] = {kept_block({"a", "b"}, "n1"), lines_block({"c"}),
                      lines_block({"d", "e", "f"})};
  generated_input in;
  in.records = 30;
  in.partitions = {"p0", "p1", "p2"};
  result.inputs[7] = in;
  return result;
}

// The records block `b` carries as bytes.
lines records_in(const block& b) {
  lines result;
  detail::from_bytes(b.bytes, result);
  return result;
}

// The records of a partition's bytes.
lines records_of(const std::string& bytes) {
  lines result;
  detail::from_bytes(bytes, result);
  return result;
}

// A shuffle whose map tasks read a parallelized collection: the lineage
// does not say which blocks they read.
struct fixture {
  fixture() {
    inputs.set_batch(batch());
  }

  detail::dstream_graph graph{duration{1000}, 2};
  stage_inputs inputs{graph};
  rdd<std::pair<std::string, int64_t>> shuffle
    = parallelize(std::vector<std::pair<std::string, int64_t>>{{"a", 1}}, 3)
        .reduce_by_key([](int64_t x, int64_t y) { return x + y; }, 2);

  // Sets the batch whose generated input 7 is a queue stream's RDD `x`.
  void set_queue_batch(rdd<std::string> x) {
    auto queue = std::make_shared<rdd_queue<std::string>>();
    queue->push(std::move(x));
    source = std::make_unique<detail::queue_input_node<std::string>>(
      graph, duration{1000}, queue, true, std::nullopt);
    auto next = batch();
    next.inputs[7] = source->generate(caf_stream::time{1000});
    inputs.set_batch(next);
  }

  std::unique_ptr<detail::queue_input_node<std::string>> source;
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a node whose tasks read their own partitions gets those "
                 "blocks and partitions only, and none of the records it "
                 "keeps",
                 "[actors][nodes][tasks]") {
  auto x = inputs.for_node(*shuffle.node(), {0, 2}, true, "n1");
  CHECK(x.batch_time == caf_stream::time{1000});
  REQUIRE(x.blocks.at(0).size() == 3);
  auto& kept = x.blocks.at(0)[0];
  // Node n1 keeps block 0: its number and place, no records.
  CHECK(kept.id == 42);
  CHECK(kept.location == "n1");
  CHECK(kept.data == nullptr);
  CHECK(kept.bytes.empty());
  CHECK(kept.records == 2);
  // Task 1 runs elsewhere: block 1 goes without records.
  auto& left = x.blocks.at(0)[1];
  CHECK(left.stream_id == 0);
  CHECK(left.data == nullptr);
  CHECK(left.bytes.empty());
  // Task 2 reads block 2, which goes as bytes.
  auto& sent = x.blocks.at(0)[2];
  CHECK(sent.data == nullptr);
  CHECK(records_in(sent) == lines{"d", "e", "f"});
  CHECK(x.inputs.at(7).records == 30);
  CHECK(x.inputs.at(7).partitions == lines{"p0", "", "p2"});
  CHECK(stage_inputs::bytes_in(x) == sent.bytes.size() + 4);
  // Another node gets block 0's records, made into bytes.
  auto y = inputs.for_node(*shuffle.node(), {0}, true, "n2");
  CHECK(records_in(y.blocks.at(0)[0]) == lines{"a", "b"});
  CHECK(y.blocks.at(0)[1].bytes.empty());
  CHECK(y.blocks.at(0)[2].bytes.empty());
  CHECK(y.inputs.at(7).partitions == lines{"p0", "", ""});
}

TEST_CASE_METHOD(fixture,
                 "a node without tasks gets the batch's inputs without "
                 "records",
                 "[actors][nodes][tasks]") {
  auto x = inputs.for_node(*shuffle.node(), {}, true, "n2");
  for (const auto& b : x.blocks.at(0)) {
    CHECK(b.data == nullptr);
    CHECK(b.bytes.empty());
  }
  CHECK(x.inputs.at(7).partitions == lines{"", "", ""});
  CHECK(stage_inputs::bytes_in(x) == 0);
}

TEST_CASE_METHOD(fixture,
                 "where the lineage does not say which blocks a node's tasks "
                 "read, it gets every block and the generated inputs whole",
                 "[actors][nodes][tasks]") {
  auto x = inputs.for_node(*shuffle.node(), {1}, false, "n1");
  REQUIRE(x.blocks.at(0).size() == 3);
  CHECK(x.blocks.at(0)[0].bytes.empty());
  CHECK(x.blocks.at(0)[0].location == "n1");
  CHECK(records_in(x.blocks.at(0)[1]) == lines{"c"});
  CHECK(records_in(x.blocks.at(0)[2]) == lines{"d", "e", "f"});
  CHECK(x.inputs.at(7).partitions == lines{"p0", "p1", "p2"});
}

TEST_CASE_METHOD(fixture,
                 "the next batch replaces the inputs the stages carry",
                 "[actors][nodes][tasks]") {
  auto next = batch();
  next.batch_time = caf_stream::time{2000};
  next.blocks[0].resize(1);
  next.inputs[7].partitions = {"q0", "q1", "q2"};
  inputs.set_batch(next);
  CHECK(inputs.batch_time() == caf_stream::time{2000});
  auto x = inputs.for_node(*shuffle.node(), {0, 1}, true, "n2");
  CHECK(x.blocks.at(0).size() == 1);
  CHECK(records_in(x.blocks.at(0)[0]) == lines{"a", "b"});
  CHECK(x.inputs.at(7).partitions == lines{"q0", "q1", ""});
}

TEST_CASE_METHOD(fixture,
                 "a generated input's partitions are made from its records "
                 "for each node, the partitions its tasks read only",
                 "[actors][nodes][tasks]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  set_queue_batch(parallelize(lines{"a", "b", "c"}, 3));
  auto x = inputs.for_node(*shuffle.node(), {0, 2}, true, "n1");
  // The RDD holds its partitions' records: they are written into the
  // stage's message as it is sent, not made into bytes before.
  auto& in = x.inputs.at(7);
  CHECK(in.partitions == lines{"", "", ""});
  auto mine = actors::through_bytes(sys, in).partitions;
  REQUIRE(mine.size() == 3);
  CHECK(records_of(mine[0]) == lines{"a"});
  CHECK(mine[1].empty());
  CHECK(records_of(mine[2]) == lines{"c"});
  CHECK(in.written_on_send
        == std::vector<size_t>{mine[0].size(), 0, mine[2].size()});
  CHECK(stage_inputs::bytes_in(x)
        == x.blocks.at(0)[2].bytes.size() + mine[0].size() + mine[2].size());
  // The next node's partition is made for it in turn.
  auto y = inputs.for_node(*shuffle.node(), {1}, true, "n2");
  auto theirs = actors::through_bytes(sys, y.inputs.at(7)).partitions;
  REQUIRE(theirs.size() == 3);
  CHECK(theirs[0].empty());
  CHECK(records_of(theirs[1]) == lines{"b"});
  CHECK(theirs[2].empty());
  // Where the lineage does not tell, every partition goes, made once.
  auto z = inputs.for_node(*shuffle.node(), {1}, false, "n3");
  CHECK(z.inputs.at(7).written_on_send.empty());
  auto all = actors::through_bytes(sys, z.inputs.at(7)).partitions;
  REQUIRE(all.size() == 3);
  CHECK(records_of(all[0]) == lines{"a"});
  CHECK(records_of(all[1]) == lines{"b"});
  CHECK(records_of(all[2]) == lines{"c"});
}

TEST_CASE_METHOD(fixture,
                 "a generated input whose partitions are computed is made "
                 "into bytes before its stage is sent",
                 "[actors][nodes][tasks]") {
  set_queue_batch(parallelize(lines{"a", "b", "c"}, 3).map(
    [](const std::string& s) { return s + "!"; }));
  auto x = inputs.for_node(*shuffle.node(), {0, 2}, true, "n1");
  auto& in = x.inputs.at(7);
  CHECK(in.written_on_send.empty());
  CHECK(in.data == nullptr);
  REQUIRE(in.partitions.size() == 3);
  CHECK(records_of(in.partitions[0]) == lines{"a!"});
  CHECK(in.partitions[1].empty());
  CHECK(records_of(in.partitions[2]) == lines{"c!"});
}

TEST_CASE_METHOD(fixture,
                 "a batch's stages carry records from the driver where it "
                 "has a generated input or holds a block's records",
                 "[actors][nodes][tasks]") {
  CHECK(inputs.carries_records());
  // Blocks kept on nodes only: the driver sends their numbers.
  job_set kept;
  kept.batch_time = caf_stream::time{2000};
  kept.blocks[0] = {kept_block({"a"}, "n1"), kept_block({"b"}, "n2")};
  for (auto& b : kept.blocks[0])
    b.data.reset();
  inputs.set_batch(kept);
  CHECK_FALSE(inputs.carries_records());
  // A block the driver holds.
  kept.blocks[0].push_back(lines_block({"c"}));
  inputs.set_batch(kept);
  CHECK(inputs.carries_records());
  // An input without a receiver.
  job_set generated;
  generated.inputs[7] = batch().inputs.at(7);
  inputs.set_batch(generated);
  CHECK(inputs.carries_records());
  inputs.set_batch(job_set{});
  CHECK_FALSE(inputs.carries_records());
}
