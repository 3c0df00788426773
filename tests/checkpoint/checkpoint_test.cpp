#include <catch2/catch.hpp>

#include <boost/crc.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/checkpoint/checkpoint_directory.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/testing.hpp"

#include "support/checkpoints.hpp"
#include "support/syscall_log.hpp"

using namespace caf_stream;
using detail::checkpoint_record;
using support::record;

namespace fs = std::filesystem;

namespace {

void overwrite(const std::string& path, std::streamoff offset,
               const std::string& bytes) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string dir_file(const testing::temporary_directory& dir,
                     const std::string& name) {
  return (fs::path{dir.path()} / name).string();
}

} // namespace

TEST_CASE("checkpoint records round-trip", "[checkpoint]") {
  testing::temporary_directory dir;
  detail::write_checkpoint(dir.path(), record(3000, 3000), 10);
  detail::write_checkpoint(dir.path(), record(4000, 3000), 10);
  auto files = detail::list_checkpoints(dir.path());
  REQUIRE(files.size() == 2);
  CHECK(fs::path{files[0]}.filename() == "checkpoint-0000000004000");
  CHECK(fs::path{files[1]}.filename() == "checkpoint-0000000003000-state");
  auto x = detail::read_checkpoint(files[0]);
  CHECK(x.version == checkpoint_record::current_version);
  CHECK(x.time_ms == 4000);
  CHECK(x.batch_interval_ms == 1000);
  CHECK(x.graph_fingerprint == "inputs=1;state=1000ms,");
  CHECK(x.pending_ms == std::vector<int64_t>{5000});
  CHECK(x.data_time_ms == 3000);
  CHECK(x.node_data.empty());
  CHECK(x.input_data.size() == 1);
  auto found = detail::find_checkpoint(dir.path());
  REQUIRE(found);
  CHECK(found->latest.time_ms == 4000);
  CHECK(found->data.time_ms == 3000);
  REQUIRE(found->data.node_data.size() == 1);
  CHECK(found->data.node_data[0].second == "state at 3000");
}

TEST_CASE("old checkpoints are deleted, kept ones stay usable",
          "[checkpoint]") {
  testing::temporary_directory dir;
  // A data record and a metadata record an earlier run left.
  detail::write_checkpoint(dir.path(), record(500, 500), 10);
  detail::write_checkpoint(dir.path(), record(700, 500), 10);
  // Each record by itself, or all through one writer's directory, which
  // lists the files once and then keeps track of them.
  auto one_writer = GENERATE(false, true);
  detail::checkpoint_directory files{dir.path(), 2};
  for (int64_t t = 1000; t <= 12000; t += 1000) {
    auto x = record(t, t / 3000 * 3000);
    if (one_writer)
      files.write(x);
    else
      detail::write_checkpoint(dir.path(), x, 2);
  }
  // Data records at 9 s and 12 s stay; metadata records newer than 9 s.
  std::vector<std::string> names;
  for (auto& f : detail::list_checkpoints(dir.path()))
    names.push_back(fs::path{f}.filename().string());
  CHECK(names
        == std::vector<std::string>{"checkpoint-0000000012000-state",
                                    "checkpoint-0000000011000",
                                    "checkpoint-0000000010000",
                                    "checkpoint-0000000009000-state"});
}

TEST_CASE("a writer's first checkpoint deletes the temporary files of "
          "writes that a crash cut short, and no other file",
          "[checkpoint]") {
  testing::temporary_directory dir;
  // A crash before the rename left the first; the others are not
  // temporary files of checkpoints.
  for (auto name : {".checkpoint-0000000002000-state.tmp", "notes.tmp",
                    ".checkpoint-x.tmp", ".lock"})
    std::ofstream{dir_file(dir, name)} << "left over\n";
  detail::checkpoint_directory files{dir.path(), 10};
  files.write(record(3000, 3000));
  std::vector<std::string> names;
  for (auto& f : fs::directory_iterator(dir.path()))
    names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names
        == std::vector<std::string>{".checkpoint-x.tmp", ".lock",
                                    "checkpoint-0000000003000-state",
                                    "notes.tmp"});
}

TEST_CASE("a checkpoint is on disk before it gets its name, and its name "
          "is on disk before the write returns",
          "[checkpoint]") {
  // The write-ahead log deletes what a written record no longer needs, so
  // a power loss must not leave the record torn or without its name.
  testing::temporary_directory dir;
  support::syscall_log log;
  detail::checkpoint_directory files{dir.path(), 10};
  files.write(record(3000, 3000));
  files.write(record(4000, 3000));
  CHECK(log.calls_under(dir.path())
        == std::vector<std::string>{
          "fsync <dir>/.checkpoint-0000000003000-state.tmp",
          "rename <dir>/.checkpoint-0000000003000-state.tmp "
          "<dir>/checkpoint-0000000003000-state",
          "fsync <dir>",
          "fsync <dir>/.checkpoint-0000000004000.tmp",
          "rename <dir>/.checkpoint-0000000004000.tmp "
          "<dir>/checkpoint-0000000004000",
          "fsync <dir>",
        });
}

TEST_CASE("unreadable checkpoints give clear errors", "[checkpoint]") {
  testing::temporary_directory dir;
  detail::write_checkpoint(dir.path(), record(1000, 1000), 10);
  auto path = dir_file(dir, "checkpoint-0000000001000-state");
  SECTION("corrupt payload") {
    overwrite(path, 40, "xx");
    CHECK_THROWS_WITH(detail::read_checkpoint(path),
                      Catch::Contains("checksum mismatch"));
  }
  SECTION("truncated") {
    fs::resize_file(path, fs::file_size(path) - 3);
    CHECK_THROWS_WITH(detail::read_checkpoint(path),
                      Catch::Contains("truncated"));
  }
  SECTION("newer format") {
    overwrite(path, 8, std::string("\x09\0\0\0", 4));
    CHECK_THROWS_WITH(detail::read_checkpoint(path),
                      Catch::Contains("format version 9 is newer"));
  }
  SECTION("foreign file") {
    std::ofstream{path, std::ios::trunc} << "hello, this is not ours";
    CHECK_THROWS_WITH(detail::read_checkpoint(path),
                      Catch::Contains("not a caf-stream checkpoint"));
    CHECK_THROWS_AS(detail::find_checkpoint(dir.path()), stream_error);
  }
  SECTION("not a directory") {
    CHECK_THROWS_WITH(detail::find_checkpoint(path),
                      Catch::Contains("is not a checkpoint directory"));
  }
  SECTION("no checkpoint yet") {
    CHECK_FALSE(detail::find_checkpoint(dir.path() + "/missing"));
  }
}

TEST_CASE("a corrupt newest checkpoint falls back to an older one",
          "[checkpoint]") {
  testing::temporary_directory dir;
  detail::write_checkpoint(dir.path(), record(3000, 3000), 10);
  detail::write_checkpoint(dir.path(), record(4000, 3000), 10);
  detail::write_checkpoint(dir.path(), record(5000, 3000), 10);
  overwrite(dir_file(dir, "checkpoint-0000000005000"), 30, "broken");
  auto found = detail::find_checkpoint(dir.path());
  REQUIRE(found);
  CHECK(found->latest.time_ms == 4000);
  CHECK(found->data.time_ms == 3000);
  // Without its state record nothing builds on 3 s any more.
  overwrite(dir_file(dir, "checkpoint-0000000003000-state"), 30, "broken");
  CHECK_THROWS_WITH(detail::find_checkpoint(dir.path()),
                    Catch::Contains("no readable checkpoint"));
}

TEST_CASE("a checkpoint of format version 1 still loads", "[checkpoint]") {
  // Written by the first format's code; kept as it is so that every later
  // format version must go on reading it.
  auto x = detail::read_checkpoint(std::string{CAF_STREAM_TEST_DATA}
                                   + "/checkpoint-v1-0000000005000-state");
  CHECK(x.version == 1);
  CHECK(x.time_ms == 5000);
  CHECK(x.batch_interval_ms == 1000);
  CHECK(x.zero_ms == 0);
  CHECK(x.graph_fingerprint == "inputs=1;state=1000ms,");
  CHECK(x.pending_ms == std::vector<int64_t>{6000});
  CHECK(x.data_time_ms == 5000);
  REQUIRE(x.node_data.size() == 1);
  CHECK(x.node_data[0].first == 0);
  CHECK(x.node_data[0].second == "state at 5000");
  REQUIRE(x.input_data.size() == 1);
  CHECK(x.input_data[0].second == "files");
}

TEST_CASE("a record whose lengths run past its bytes is refused",
          "[checkpoint]") {
  // The version 1 record above with one length field set to 2^40, its
  // checksum made to match (as a faulty writer would): refused without
  // allocating for the length.
  std::ifstream in{std::string{CAF_STREAM_TEST_DATA}
                     + "/checkpoint-v1-0000000005000-state",
                   std::ios::binary};
  std::string file{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto with_length_at = [&](size_t offset) {
    auto payload = file.substr(24);
    for (size_t i = 0; i < 8; ++i)
      payload[offset + i] = static_cast<char>(i == 5 ? 1 : 0); // 2^40
    auto crc = detail::crc32(payload.data(), payload.size());
    auto result = file.substr(0, 20);
    for (size_t i = 0; i < 4; ++i)
      result.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
    return result + payload;
  };
  // Three times, then the graph fingerprint's length, then the count of
  // pending batches after its 22 bytes.
  CHECK_THROWS_WITH(detail::parse_checkpoint(with_length_at(24), "f"),
                    "cannot read checkpoint 'f': malformed record: a string "
                    "of 1099511627776 bytes with 122 bytes left");
  CHECK_THROWS_WITH(detail::parse_checkpoint(with_length_at(54), "f"),
                    "cannot read checkpoint 'f': malformed record: a "
                    "collection of 1099511627776 items with 92 bytes left");
  // Unchanged, it reads.
  CHECK(detail::parse_checkpoint(file, "f").pending_ms
        == std::vector<int64_t>{6000});
}

TEST_CASE("checkpoint checksums are CRC-32", "[checkpoint]") {
  // The standard check value.
  std::string check = "123456789";
  CHECK(detail::crc32(check.data(), check.size()) == 0xCBF43926u);
  CHECK(detail::crc32(nullptr, 0) == 0);
  // Continued over a second piece: the CRC-32 of both.
  CHECK(detail::crc32(check.data() + 4, check.size() - 4,
                      detail::crc32(check.data(), 4))
        == 0xCBF43926u);
  // Boost's byte-at-a-time CRC-32 (what format 1 files were written with)
  // over every length up to 64 and longer runs, at odd offsets.
  std::mt19937 gen{42};
  std::string bytes(100000, '\0');
  for (auto& c : bytes)
    c = static_cast<char>(gen());
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 64; ++n)
    lengths.push_back(n);
  lengths.insert(lengths.end(), {1000, 4095, 99990});
  for (auto n : lengths)
    for (size_t offset : {0, 1, 3, 7}) {
      boost::crc_32_type reference;
      reference.process_bytes(bytes.data() + offset, n);
      INFO("length " << n << ", offset " << offset);
      CHECK(detail::crc32(bytes.data() + offset, n) == reference.checksum());
    }
}

TEST_CASE("pending checkpoints keep only what recovery could start from",
          "[checkpoint]") {
  auto record = [](int64_t t, bool data) {
    detail::checkpoint_record x;
    x.time_ms = t;
    x.data_time_ms = data ? t : 0;
    return x;
  };
  auto times = [](std::vector<detail::checkpoint_record> xs) {
    std::vector<std::pair<int64_t, bool>> result;
    for (auto& x : xs)
      result.emplace_back(x.time_ms, x.has_data());
    return result;
  };
  using expected = std::vector<std::pair<int64_t, bool>>;
  detail::pending_checkpoints q;
  CHECK(q.empty());
  // Metadata records: the newest one is enough.
  q.add(record(1000, false));
  q.add(record(2000, false));
  CHECK(times(q.take()) == expected{{2000, false}});
  CHECK(q.empty());
  // A data record supersedes every older record; metadata after it stays.
  q.add(record(3000, false));
  q.add(record(4000, true));
  q.add(record(5000, false));
  q.add(record(6000, false));
  CHECK(times(q.take()) == expected{{4000, true}, {6000, false}});
  // Of two data records the newer stays.
  q.add(record(7000, true));
  q.add(record(8000, false));
  q.add(record(9000, true));
  CHECK(times(q.take()) == expected{{9000, true}});
  CHECK(q.take().empty());
}

namespace {

// The code of the `stream_error` that `f` throws; fails the test if it
// throws none.
template <class F>
errc error_code_of(F f) {
  try {
    f();
  } catch (const stream_error& e) {
    return e.code();
  }
  FAIL("no stream_error");
  return errc::invalid_graph;
}

} // namespace

TEST_CASE("a checkpoint directory's lock has one holder at a time, named "
          "by its process id",
          "[checkpoint]") {
  testing::temporary_directory dir;
  auto lock_it = [&] { detail::checkpoint_directory_lock{dir.path()}; };
  std::optional<detail::checkpoint_directory_lock> held{std::in_place,
                                                        dir.path()};
  // Each lock opens the file anew, so a second one in this process is
  // refused as one in another process is.
  auto expected = "the checkpoint directory '" + dir.path()
                  + "' is in use by another running streaming context "
                    "(process "
                  + std::to_string(::getpid())
                  + "): each application needs a checkpoint directory of "
                    "its own";
  CHECK_THROWS_WITH(lock_it(), expected);
  CHECK(error_code_of(lock_it) == errc::illegal_state);
  held.reset();
  CHECK_NOTHROW(lock_it());
  // The lock file is no checkpoint.
  CHECK(fs::exists(dir_file(dir, ".lock")));
  CHECK(detail::list_checkpoints(dir.path()).empty());
  CHECK_FALSE(detail::find_checkpoint(dir.path()));
}

TEST_CASE("a checkpoint directory that is not there cannot be locked",
          "[checkpoint]") {
  testing::temporary_directory dir;
  auto file = dir_file(dir, "file");
  std::ofstream{file} << "not a directory\n";
  auto lock_it = [&] { detail::checkpoint_directory_lock{file}; };
  CHECK_THROWS_WITH(lock_it(),
                    "cannot use the checkpoint directory '" + file
                      + "': cannot open '" + file
                      + "/.lock': Not a directory");
  CHECK(error_code_of(lock_it) == errc::bad_checkpoint);
}
