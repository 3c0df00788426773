#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"
#include "caf_stream/testing.hpp"

#include "support/syscall_log.hpp"

using namespace caf_stream;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

namespace {

caf_stream::time at(int64_t ms) {
  return caf_stream::time{ms};
}

// The bytes of a segment, written out by hand: magic, then per record its
// length, CRC-32 and payload, little-endian.
std::string segment_bytes(const std::vector<std::string>& payloads) {
  std::string result = "CAFSWAL1";
  auto put32 = [&](uint32_t x) {
    for (int i = 0; i < 4; ++i)
      result.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
  };
  for (auto& x : payloads) {
    put32(static_cast<uint32_t>(x.size()));
    put32(detail::crc32(x.data(), x.size()));
    result += x;
  }
  return result;
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

std::vector<int> records_of(const block& b) {
  return *detail::block_records<int>(b);
}

std::vector<std::vector<int>> records_of(const std::vector<block>& xs) {
  std::vector<std::vector<int>> result;
  for (auto& b : xs)
    result.push_back(records_of(b));
  return result;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const stream_error& e) {
    CHECK(e.code() == errc::bad_checkpoint);
    return e.what();
  }
  FAIL("no stream_error");
  return {};
}

struct log_fixture {
  testing::temporary_directory dir;
  std::shared_ptr<testing::manual_clock> clk
    = std::make_shared<testing::manual_clock>(at(0));

  // A block of `xs` in `stream`, added to `log`.
  static block logged(detail::received_block_log& log, std::vector<int> xs,
                      int32_t stream = 0) {
    auto b = detail::make_block(stream, std::move(xs));
    log.add(b);
    return b;
  }

  std::unique_ptr<detail::received_block_log> open_log() {
    return std::make_unique<detail::received_block_log>(
      dir.path(), wal_sync::every_block, duration{10'000}, clk);
  }

  // The segment files of stream `id`.
  std::vector<uint32_t> block_segments(int32_t id) const {
    return detail::wal_writer::list_segments(
      (fs::path{dir.path()} / "receivedData" / std::to_string(id)).string());
  }

  std::string block_segment_path(int32_t id, uint32_t n) const {
    return detail::wal_writer::segment_path(
      (fs::path{dir.path()} / "receivedData" / std::to_string(id)).string(),
      n);
  }
};

} // namespace

TEST_CASE("a segment yields its records with their offsets",
          "[receiver][wal]") {
  auto seg = detail::parse_wal_segment(segment_bytes({"abc", "", "defg"}),
                                       "seg");
  REQUIRE(seg.records.size() == 3);
  CHECK(seg.records[0] == std::make_pair(uint64_t{8}, std::string{"abc"}));
  CHECK(seg.records[1] == std::make_pair(uint64_t{19}, std::string{}));
  CHECK(seg.records[2] == std::make_pair(uint64_t{27}, std::string{"defg"}));
  CHECK(!seg.torn_at);
}

TEST_CASE("a torn last record is left out and located", "[receiver][wal]") {
  auto whole = segment_bytes({"abc", "defg"});
  SECTION("the payload is cut short") {
    auto seg = detail::parse_wal_segment(whole.substr(0, whole.size() - 2),
                                         "seg");
    REQUIRE(seg.records.size() == 1);
    CHECK(seg.torn_at == uint64_t{19});
  }
  SECTION("the header is cut short") {
    auto seg = detail::parse_wal_segment(whole.substr(0, 19 + 5), "seg");
    REQUIRE(seg.records.size() == 1);
    CHECK(seg.torn_at == uint64_t{19});
  }
  SECTION("the last payload has the wrong bytes") {
    whole.back() = 'X';
    auto seg = detail::parse_wal_segment(whole, "seg");
    REQUIRE(seg.records.size() == 1);
    CHECK(seg.torn_at == uint64_t{19});
  }
  SECTION("the magic is cut short") {
    auto seg = detail::parse_wal_segment("CAFS", "seg");
    CHECK(seg.records.empty());
    CHECK(seg.torn_at == uint64_t{0});
  }
}

TEST_CASE("a corrupt record before others names the segment and offset",
          "[receiver][wal]") {
  auto bytes = segment_bytes({"abc", "defg", "hi"});
  bytes[19 + 8] = 'X';
  auto what = error_text([&] { detail::parse_wal_segment(bytes, "seg-7"); });
  CHECK(what.find("seg-7") != std::string::npos);
  CHECK(what.find("offset 19") != std::string::npos);
  CHECK(error_text([] { detail::parse_wal_segment("NOTAWAL!xxxx", "x"); })
          .find("not a write-ahead log segment")
        != std::string::npos);
}

TEST_CASE("a writer appends to numbered segments and rolls to new ones",
          "[receiver][wal]") {
  testing::temporary_directory dir;
  auto sub = (fs::path{dir.path()} / "log").string();
  {
    detail::wal_writer w{sub, 3};
    CHECK(w.append("abc") == std::make_pair(uint32_t{3}, uint64_t{8}));
    CHECK(w.append("de") == std::make_pair(uint32_t{3}, uint64_t{19}));
    w.roll();
    CHECK(w.append("f") == std::make_pair(uint32_t{4}, uint64_t{8}));
    w.sync();
  }
  CHECK(detail::wal_writer::list_segments(sub) == std::vector<uint32_t>{3, 4});
  auto seg = detail::parse_wal_segment(
    read_all(detail::wal_writer::segment_path(sub, 3)), "3");
  REQUIRE(seg.records.size() == 2);
  CHECK(seg.records[1].second == "de");
}

TEST_CASE("a writer's sync puts its new segments and directories on disk",
          "[receiver][wal]") {
  // A segment's fsync keeps its records, and the fsync of each directory
  // whose entries changed keeps its name: a power loss after `sync` loses
  // neither.
  testing::temporary_directory dir;
  auto sub = (fs::path{dir.path()} / "receivedData" / "0").string();
  support::syscall_log log;
  detail::wal_writer w{sub, 0};
  w.append("abc");
  w.sync();
  w.append("de");
  w.sync();
  w.roll();
  w.append("f");
  w.sync();
  CHECK(log.calls_under(dir.path())
        == std::vector<std::string>{
          "fsync <dir>/receivedData/0/log-0000000000",
          "fsync <dir>/receivedData/0",
          "fsync <dir>/receivedData",
          "fsync <dir>",
          "fsync <dir>/receivedData/0/log-0000000000",
          "fsync <dir>/receivedData/0/log-0000000001",
          "fsync <dir>/receivedData/0",
        });
}

TEST_CASE("recovery reads back each batch's blocks and the unallocated ones",
          "[receiver][wal]") {
  log_fixture f;
  {
    auto log = f.open_log();
    auto b1 = f.logged(*log, {1, 2});
    auto b2 = f.logged(*log, {3}, 1);
    auto b3 = f.logged(*log, {4, 5, 6});
    f.logged(*log, {7});
    log->allocate(at(1000), {b1, b2});
    log->allocate(at(2000), {});
    log->allocate(at(3000), {b3});
  }
  SECTION("from the start") {
    auto log = f.open_log();
    auto got = log->recover(at(0));
    REQUIRE(got.batches.size() == 3);
    CHECK(records_of(got.batches[at(1000)])
          == std::vector<std::vector<int>>{{1, 2}, {3}});
    CHECK(got.batches[at(2000)].empty());
    CHECK(records_of(got.batches[at(3000)])
          == std::vector<std::vector<int>>{{4, 5, 6}});
    CHECK(records_of(got.unallocated) == std::vector<std::vector<int>>{{7}});
    CHECK(got.unallocated[0].recovered);
    CHECK(got.incomplete.empty());
  }
  SECTION("after a batch: earlier ones are left out") {
    auto log = f.open_log();
    auto got = log->recover(at(2000));
    REQUIRE(got.batches.size() == 1);
    CHECK(got.batches.count(at(3000)) == 1);
    CHECK(records_of(got.unallocated) == std::vector<std::vector<int>>{{7}});
  }
  SECTION("a recovered block given to a batch is not unallocated again") {
    {
      auto log = f.open_log();
      auto got = log->recover(at(0));
      log->allocate(at(4000), got.unallocated);
    }
    auto got = f.open_log()->recover(at(3000));
    CHECK(got.unallocated.empty());
    CHECK(records_of(got.batches[at(4000)])
          == std::vector<std::vector<int>>{{7}});
  }
}

TEST_CASE("recovery drops a torn last block and refuses a corrupt one",
          "[receiver][wal]") {
  log_fixture f;
  {
    auto log = f.open_log();
    f.logged(*log, {1});
    f.logged(*log, {2});
  }
  auto path = f.block_segment_path(0, f.block_segments(0).at(0));
  auto bytes = read_all(path);
  SECTION("torn") {
    write_all(path, bytes.substr(0, bytes.size() - 3));
    auto got = f.open_log()->recover(at(0));
    CHECK(records_of(got.unallocated) == std::vector<std::vector<int>>{{1}});
  }
  SECTION("corrupt in the middle") {
    bytes[8 + 8 + 2] ^= 0x55;
    write_all(path, bytes);
    auto what = error_text([&] { f.open_log()->recover(at(0)); });
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("offset 8") != std::string::npos);
  }
}

TEST_CASE("cleaning deletes the segments of batches no recovery needs",
          "[receiver][wal]") {
  log_fixture f;
  auto log = f.open_log();
  auto b1 = f.logged(*log, {1});
  log->allocate(at(1000), {b1});
  // The rolling interval (10 s) passes: the next records start new
  // segments.
  f.clk->advance(10s);
  auto b2 = f.logged(*log, {2});
  log->allocate(at(11'000), {b2});
  f.logged(*log, {3});
  CHECK(f.block_segments(0).size() == 2);
  log->clean(at(999));
  CHECK(log->num_segments() == 4);
  log->clean(at(1000));
  // The first block and allocation segments went; the open ones stay.
  CHECK(f.block_segments(0).size() == 1);
  CHECK(log->num_segments() == 2);
  log.reset();
  auto got = f.open_log()->recover(at(0));
  CHECK(got.batches.size() == 1);
  CHECK(records_of(got.batches[at(11'000)])
        == std::vector<std::vector<int>>{{2}});
  CHECK(records_of(got.unallocated) == std::vector<std::vector<int>>{{3}});
}

TEST_CASE("a segment with an unallocated block outlives cleaning",
          "[receiver][wal]") {
  log_fixture f;
  auto log = f.open_log();
  auto b1 = f.logged(*log, {1});
  auto b2 = f.logged(*log, {2});
  log->allocate(at(1000), {b1});
  f.clk->advance(10s);
  // Rolls the segment of b1 and b2.
  log->flush(0);
  log->clean(at(5000));
  CHECK(f.block_segments(0).size() == 1);
  log->allocate(at(6000), {b2});
  log->clean(at(6000));
  CHECK(f.block_segments(0).empty());
}

TEST_CASE("a new run discards the log of a run without checkpoints",
          "[receiver][wal]") {
  log_fixture f;
  {
    auto log = f.open_log();
    auto b1 = f.logged(*log, {1});
    log->allocate(at(1000), {b1});
  }
  f.open_log()->discard();
  auto got = f.open_log()->recover(at(0));
  CHECK(got.batches.empty());
  CHECK(got.unallocated.empty());
}

TEST_CASE("the sync policy parses from its configuration value",
          "[receiver][wal]") {
  CHECK(parse_wal_sync("every-block") == wal_sync::every_block);
  CHECK(parse_wal_sync("every-interval") == wal_sync::every_interval);
  CHECK(parse_wal_sync("never") == wal_sync::never);
  CHECK(to_string(wal_sync::every_interval) == "every-interval");
  CHECK_THROWS_WITH(parse_wal_sync("always"),
                    Catch::Contains("stream.receiver.write-ahead-log.sync")
                      && Catch::Contains("every-block, every-interval or "
                                         "never"));
}
