#include <catch2/catch.hpp>


#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/testing.hpp"

#include "support/checkpoints.hpp"
#include "support/child_process.hpp"
#include "support/files.hpp"

using namespace caf_stream;

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> texts{"a b a", "b c",   "a",    "c c d",
                                     "a d",   "b",     "e a",  "a a b"};

// The totals line the child prints after batch `k`, computed directly from
// the texts.
std::string expected_totals(int64_t base, size_t k) {
  std::map<std::string, int64_t> counts;
  for (size_t i = 0; i < k; ++i) {
    std::istringstream in{texts[i]};
    for (std::string w; in >> w;)
      ++counts[w];
  }
  std::string rendered;
  for (auto& [w, n] : counts)
    rendered += w + "=" + std::to_string(n) + ",";
  return "totals " + std::to_string(base + static_cast<int64_t>(k) * 1000)
         + " " + rendered + " | " + rendered;
}

std::unique_ptr<support::child_process>
start_child(const std::string& input, const std::string& checkpoints,
            int64_t start) {
  return std::make_unique<support::child_process>(std::vector<std::string>{
    CAF_STREAM_RECOVERY_CHILD, input, checkpoints, std::to_string(start)});
}

} // namespace

TEST_CASE("a killed application resumes its totals with get_or_create",
          "[checkpoint][recovery]") {
  auto corrupt_newest = GENERATE(false, true);
  testing::temporary_directory input;
  testing::temporary_directory checkpoints;
  auto base = support::wall_clock_second();
  // File k appears during batch k (whose time is base + k s).
  auto feed = [&](size_t k) {
    support::write_file(fs::path{input.path()} / ("f" + std::to_string(k)),
                        texts[k - 1] + "\n",
                        base + static_cast<int64_t>(k) * 1000 - 500);
  };
  auto child = start_child(input.path(), checkpoints.path(), base);
  REQUIRE(child->read_line() == "started");
  for (size_t k = 1; k <= 5; ++k) {
    feed(k);
    child->write_line("tick");
    REQUIRE(child->read_line() == expected_totals(base, k));
  }
  // An older checkpoint to recover from when the newest is corrupt.
  REQUIRE(support::wait_for_checkpoint(checkpoints.path(), base + 5000));
  // Killed mid-stream: batch 6 is cut and may be running, or checkpointing.
  feed(6);
  child->write_line("tick");
  child->kill();
  if (corrupt_newest) {
    auto files = detail::list_checkpoints(checkpoints.path());
    REQUIRE(!files.empty());
    std::fstream f{files.front(), std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(30);
    f.write("garbage", 7);
  }
  auto restarted = start_child(input.path(), checkpoints.path(), base + 6000);
  REQUIRE(restarted->read_line() == "recovered");
  for (size_t k = 7; k <= 8; ++k) {
    feed(k);
    restarted->write_line("tick");
    CHECK(restarted->read_line() == expected_totals(base, k));
  }
  restarted->write_line("stop");
  CHECK(restarted->read_line() == "stopped");
  CHECK(restarted->wait() == 0);
}
