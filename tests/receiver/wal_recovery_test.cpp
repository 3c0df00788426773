#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/checkpoints.hpp"
#include "support/child_process.hpp"

using namespace caf_stream;

namespace {

std::unique_ptr<support::child_process> start_child(const std::string& dir,
                                                    int64_t start_ms) {
  return std::make_unique<support::child_process>(std::vector<std::string>{
    CAF_STREAM_WAL_CHILD, dir, std::to_string(start_ms)});
}

// Stores nothing: a receiver stream for the start-time checks.
template <class T>
class idle_receiver final : public receiver<T> {
public:
  void on_start() override {
    // nop
  }

  void on_stop() override {
    // nop
  }
};

struct not_serializable {
  int x = 0;
};

} // namespace

// The child's lines ("batch <ms> <words> | <totals>") are written from the
// words the test stores, batch by batch.

TEST_CASE("blocks stored before a kill reach the first batch after it",
          "[receiver][wal][recovery]") {
  testing::temporary_directory checkpoints;
  auto child = start_child(checkpoints.path(), 0);
  REQUIRE(child->read_line() == "started");
  child->write_line("store a b");
  REQUIRE(child->read_line() == "stored");
  child->write_line("tick");
  REQUIRE(child->read_line() == "batch 1000 a,b, | a=1,b=1,");
  REQUIRE(support::wait_for_checkpoint(checkpoints.path(), 1000));
  // Acknowledged, in no batch yet: without the log, lost with the process.
  child->write_line("store c a");
  REQUIRE(child->read_line() == "stored");
  child->kill();
  auto restarted = start_child(checkpoints.path(), 1000);
  REQUIRE(restarted->read_line() == "recovered");
  restarted->write_line("tick");
  CHECK(restarted->read_line() == "batch 2000 a,c, | a=2,b=1,c=1,");
}

TEST_CASE("a batch cut before a kill runs again with the blocks it had",
          "[receiver][wal][recovery]") {
  testing::temporary_directory checkpoints;
  auto child = start_child(checkpoints.path(), 0);
  REQUIRE(child->read_line() == "started");
  child->write_line("store a");
  REQUIRE(child->read_line() == "stored");
  child->write_line("tick");
  REQUIRE(child->read_line() == "batch 1000 a, | a=1,");
  REQUIRE(support::wait_for_checkpoint(checkpoints.path(), 1000));
  child->write_line("store b");
  REQUIRE(child->read_line() == "stored");
  // Batch 2000 gets b, then hangs in its output: it never completes.
  child->write_line("hold");
  REQUIRE(child->read_line() == "ok");
  child->write_line("cut");
  REQUIRE(child->read_line() == "holding 2000");
  // Stored after batch 2000 was cut: it belongs to batch 3000.
  child->write_line("store c");
  REQUIRE(child->read_line() == "stored");
  child->kill();
  auto restarted = start_child(checkpoints.path(), 2000);
  REQUIRE(restarted->read_line() == "recovered");
  restarted->write_line("await");
  CHECK(restarted->read_line() == "batch 2000 b, | a=1,b=1,");
  restarted->write_line("tick");
  CHECK(restarted->read_line() == "batch 3000 c, | a=1,b=1,c=1,");
}

TEST_CASE("the write-ahead log needs a checkpoint directory and "
          "serializable records",
          "[receiver][wal]") {
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  auto clk = std::make_shared<testing::manual_clock>();
  SECTION("no checkpoint directory") {
    streaming_context ssc{std::chrono::seconds(1), opts, clk};
    ssc.receiver_stream<std::string>(
         std::make_unique<idle_receiver<std::string>>())
      .print();
    CHECK_THROWS_WITH(ssc.start(),
                      Catch::Contains("stream.receiver.write-ahead-log.enable "
                                      "needs a checkpoint directory"));
  }
  SECTION("records without serialize") {
    testing::temporary_directory checkpoints;
    streaming_context ssc{std::chrono::seconds(1), opts, clk};
    ssc.checkpoint(checkpoints.path());
    ssc.receiver_stream<not_serializable>(
         std::make_unique<idle_receiver<not_serializable>>())
      .foreach_rdd([](const rdd<not_serializable>&) {});
    CHECK_THROWS_WITH(ssc.start(),
                      Catch::Contains("no Boost.Serialization serialize"));
  }
}
