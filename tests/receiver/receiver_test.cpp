#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <istream>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "caf_stream/all.hpp"

#include "support/files.hpp"
#include "support/log_capture.hpp"
#include "support/one_shot_server.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;
using support::one_shot_server;

namespace {

/// Starts `p` collecting socket_text_stream(127.0.0.1:port) and runs batches
/// until `n` lines arrived; false if they never did.
bool receive_lines(test::pipeline<std::string>& p, uint16_t port, size_t n) {
  p.collect(p.context().socket_text_stream("127.0.0.1", port));
  p.context().start();
  return p.run_until([n](const std::vector<std::string>& xs) { return xs.size() >= n; });
}

} // namespace

TEST_CASE("socket_text_stream splits lines across TCP segments", "[receiver][socket]") {
  one_shot_server server{{"hello wo", "rld\nsecond", " line\r\n", "third\n", "tail"}};
  test::pipeline<std::string> p;
  // The peer disconnects after sending: what arrived is kept, including the
  // unterminated tail, and the receiver restarts (to find nobody there).
  auto done = receive_lines(p, server.port(), 4);
  p.context().stop();
  REQUIRE(done);
  CHECK(p.elements()
        == std::vector<std::string>{"hello world", "second line", "third", "tail"});
}

TEST_CASE("socket_text_stream skips an overlong line with an error", "[receiver][socket]") {
  auto opts = testing::default_test_options();
  opts.max_line_length = 16;
  std::string big(100, 'x');
  // The unterminated tail at the end of the stream is too long as well.
  one_shot_server server{{"short\n", big.substr(0, 50), big.substr(50) + "\nafter\n",
                          big.substr(0, 20)}};
  test::pipeline<std::string> p{opts};
  auto done = receive_lines(p, server.port(), 2);
  // More batches: the tail, skipped too, never shows up.
  auto more = p.run_until([](const std::vector<std::string>& xs) { return xs.size() > 2; }, 20);
  p.context().stop();
  REQUIRE(done);
  CHECK_FALSE(more);
  CHECK(p.elements() == std::vector<std::string>{"short", "after"});
}

TEST_CASE("socket_text_stream receives lines longer than one read", "[receiver][socket]") {
  auto opts = testing::default_test_options();
  opts.max_line_length = 300 * 1024;
  // Longer than the receiver's first read buffer, within the limit; then one
  // over the limit that fills the grown buffer before its end arrives.
  std::string allowed(200 * 1024, 'a');
  std::string overlong(400 * 1024, 'b');
  one_shot_server server{{"x\n", allowed.substr(0, 70000), allowed.substr(70000) + "\n",
                          overlong, "\ny\n"}};
  test::pipeline<std::string> p{opts};
  auto done = receive_lines(p, server.port(), 3);
  p.context().stop();
  REQUIRE(done);
  CHECK(p.elements() == std::vector<std::string>{"x", allowed, "y"});
}

TEST_CASE("socket_text_stream lines enter blocks at the maximum rate", "[receiver][socket][rate]") {
  auto opts = testing::default_test_options();
  opts.max_rate = 10;
  // All 50 lines arrive in one read; they may not all enter one batch.
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += std::to_string(i) + "\n";
  one_shot_server server{{text}};
  test::pipeline<std::string> p{opts};
  auto done = receive_lines(p, server.port(), 50);
  p.context().stop();
  REQUIRE(done);
  int64_t seen = 0;
  for (auto& info : p.infos()) {
    seen += info.num_records;
    CHECK(seen <= 10 * (info.batch_time.milliseconds() / 1000) + 1);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i)
    expected.push_back(std::to_string(i));
  CHECK(p.elements() == expected);
}

namespace {

/// Stores `first` records, then asks for a restart; after the restart it
/// stores `second` records.
class flaky_receiver final : public receiver<int> {
public:
  explicit flaky_receiver(std::shared_ptr<std::atomic<int>> starts)
    : starts_(std::move(starts)) {
  }

  void on_start() override {
    auto n = ++*starts_;
    if (n == 1) {
      store(std::vector<int>{1, 2, 3});
      restart("simulated failure");
    } else if (n == 2) {
      throw std::runtime_error("on_start fails once more");
    } else {
      store(4);
      store(5);
    }
  }

  void on_stop() override {
  }

private:
  std::shared_ptr<std::atomic<int>> starts_;
};

// Its `receive` throws on its first run, and stores 1, 2 and 3 on the next
// (its source has no more: it returns, and the receiver runs on idle).
class throwing_receiver final : public threaded_receiver<int> {
public:
  explicit throwing_receiver(std::shared_ptr<std::atomic<int>> runs)
    : runs_(std::move(runs)) {
    // nop
  }

  ~throwing_receiver() override {
    join();
  }

private:
  void receive() override {
    if ((*runs_)++ == 0)
      throw std::runtime_error("the source is gone");
    store(std::vector<int>{1, 2, 3});
  }

  std::shared_ptr<std::atomic<int>> runs_;
};

} // namespace

namespace {

/// A record framed as a length byte and that many bytes; none at the
/// stream's end; throws on a record cut short.
std::optional<std::string> framed(std::istream& in) {
  auto n = in.get();
  if (n == std::char_traits<char>::eof())
    return std::nullopt;
  std::string x(static_cast<size_t>(n), '\0');
  if (!in.read(x.data(), n))
    throw std::runtime_error("a record cut short: " + std::to_string(in.gcount())
                             + " of " + std::to_string(n) + " bytes");
  return x;
}

/// A temporary directory a file stream reads: `write` puts a file there
/// with the modification time the test gives it (milliseconds since the
/// Unix epoch), which the stream compares with batch times.
class watched_directory {
public:
  const std::string& path() const noexcept {
    return dir_.path();
  }

  void write(const std::string& name, const std::string& text,
             int64_t mtime_ms) {
    support::write_file(std::filesystem::path{dir_.path()} / name, text,
                        mtime_ms);
  }

private:
  testing::temporary_directory dir_;
};

/// Keeps what receivers report as errors or restart with.
class receiver_errors final : public streaming_listener {
public:
  void on_receiver_error(const receiver_info& x) override {
    std::lock_guard<std::mutex> guard{mtx_};
    errors_.push_back(x.name + ": " + x.last_error);
    cv_.notify_all();
  }

  /// Waits until an error that contains `what` came (a minute at most, a
  /// guard against a hung test); returns all so far.
  std::vector<std::string> wait_for(const std::string& what) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, std::chrono::minutes(1), [&] {
      return std::any_of(errors_.begin(), errors_.end(), [&](const auto& x) {
        return x.find(what) != std::string::npos;
      });
    });
    return errors_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> errors_;
};

/// What a receiver stream gave: whether at least the records waited for
/// came, the records, and what its receiver reported.
struct received {
  bool done;
  std::vector<std::string> records;
  std::vector<std::string> reports;
};

/// Starts `p` collecting `s`, a receiver stream of `p`'s context, runs
/// batches until `n` records came and waits for a report that contains
/// `what`, then stops `p`.
received receive_until(test::pipeline<std::string>& p,
                       const dstream<std::string>& s, size_t n,
                       const std::string& what) {
  auto errors = std::make_shared<receiver_errors>();
  p.context().add_streaming_listener(errors);
  p.collect(s);
  p.context().start();
  auto done = p.run_until(
    [n](const std::vector<std::string>& xs) { return xs.size() >= n; });
  auto reports = errors->wait_for(what);
  p.context().stop();
  return {done, p.elements(), std::move(reports)};
}

/// `socket_stream(127.0.0.1:port)` of `framed` records.
dstream<std::string> framed_stream(test::pipeline<std::string>& p,
                                   uint16_t port) {
  return p.context().socket_stream<std::string>("127.0.0.1", port, framed);
}

} // namespace

TEST_CASE("socket_stream stores what its converter reads across TCP "
          "segments, and restarts at the stream's end",
          "[receiver][socket]") {
  using namespace std::string_literals;
  one_shot_server server{
    {"\x05hel"s, "lo\x03" "ab"s, "c\x00\x01"s, "z"s}};
  test::pipeline<std::string> p;
  auto got = receive_until(p, framed_stream(p, server.port()), 4,
                           "had no more data");
  REQUIRE(got.done);
  CHECK(got.records == std::vector<std::string>{"hello", "abc", "", "z"});
  CHECK_THAT(got.reports.front(),
             Catch::Equals("socket_stream: socket data stream from "
                           "127.0.0.1:"
                           + std::to_string(server.port())
                           + " had no more data"));
}

TEST_CASE("socket_stream keeps the records before one its converter fails "
          "on, and restarts with the reason",
          "[receiver][socket]") {
  using namespace std::string_literals;
  one_shot_server server{{"\x02ok\x05" "ab"s}};
  test::pipeline<std::string> p;
  auto got = receive_until(p, framed_stream(p, server.port()), 1,
                           "converter");
  REQUIRE(got.done);
  CHECK(got.records == std::vector<std::string>{"ok"});
  CHECK_THAT(got.reports.front(),
             Catch::Contains("the converter failed: a record cut short: 2 "
                             "of 5 bytes"));
}

TEST_CASE("socket_stream refuses a null converter at the call",
          "[receiver][socket]") {
  test::pipeline<std::string> p;
  CHECK_THROWS_WITH(p.context().socket_stream<std::string>("127.0.0.1", 1,
                                                           nullptr),
                    "socket_stream: null converter");
}

TEST_CASE("raw_block_bytes puts the body's length before it, in 4 bytes, "
          "big-endian",
          "[receiver][socket][raw]") {
  auto frame = raw_block_bytes(std::vector<std::string>(100, "xyz"));
  REQUIRE(frame.size() > 4);
  auto n = frame.size() - 4;
  CHECK(frame.substr(0, 4)
        == std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)});
}

namespace {

/// `raw_socket_stream<std::string>(127.0.0.1:port)`.
dstream<std::string> raw_stream(test::pipeline<std::string>& p,
                                uint16_t port) {
  return p.context().raw_socket_stream<std::string>("127.0.0.1", port);
}

} // namespace

TEST_CASE("raw_socket_stream stores the blocks it reads across TCP segments, "
          "and restarts at the stream's end",
          "[receiver][socket][raw]") {
  auto bytes = raw_block_bytes<std::string>({"a", "bb"})
               + raw_block_bytes<std::string>({})
               + raw_block_bytes<std::string>({"ccc"});
  // Cut within the first length, within a body, and at a block's end.
  one_shot_server server{{bytes.substr(0, 2), bytes.substr(2, 9),
                          bytes.substr(11)}};
  test::pipeline<std::string> p;
  auto got = receive_until(p, raw_stream(p, server.port()), 3,
                           "had no more data");
  REQUIRE(got.done);
  CHECK(got.records == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK_THAT(got.reports.front(),
             Catch::Equals("raw_socket_stream: raw socket data stream from "
                           "127.0.0.1:"
                           + std::to_string(server.port())
                           + " had no more data"));
}

TEST_CASE("raw_socket_stream keeps the blocks before a malformed or cut "
          "one, and restarts with the reason",
          "[receiver][socket][raw]") {
  using namespace std::string_literals;
  struct bad_tail {
    std::string bytes;
    std::string reason;
  };
  auto tail = GENERATE(
    bad_tail{"\xff\xff\xff\xfe"s,
             "block 2 is malformed: its length is negative (-2)"},
    bad_tail{"\x00\x00\x00\x03xyz"s, "block 2 is malformed: "},
    bad_tail{"\x00\x00\x03\xe8" "0123456789"s,
             "block 2 was cut short: 14 of 1004 bytes"},
    bad_tail{"\x00\x00"s, "block 2 was cut short: 2 of 4 bytes"});
  one_shot_server server{{raw_block_bytes<std::string>({"ok"}) + tail.bytes}};
  test::pipeline<std::string> p;
  auto got = receive_until(p, raw_stream(p, server.port()), 1,
                           "block 2");
  REQUIRE(got.done);
  CHECK(got.records == std::vector<std::string>{"ok"});
  CHECK_THAT(got.reports.front(),
             Catch::StartsWith("raw_socket_stream: raw_socket_stream "
                               "127.0.0.1:"
                               + std::to_string(server.port()) + ": "
                               + tail.reason));
}

TEST_CASE("a receiver that restarts or throws is started again", "[receiver]") {
  auto starts = std::make_shared<std::atomic<int>>(0);
  test::pipeline<int> p;
  p.collect(p.context().receiver_stream<int>(std::make_unique<flaky_receiver>(starts)));
  p.context().start();
  auto done = p.run_until([](const std::vector<int>& xs) { return xs.size() >= 5; });
  p.context().stop();
  REQUIRE(done);
  auto xs = p.elements();
  std::sort(xs.begin(), xs.end());
  CHECK(xs == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(*starts == 3);
}

TEST_CASE("a threaded receiver whose receive() throws restarts with the "
          "reason instead of ending the program",
          "[receiver]") {
  support::log_capture log{"receiver"};
  auto runs = std::make_shared<std::atomic<int>>(0);
  test::pipeline<int> p;
  p.collect(p.context().receiver_stream<int>(
    std::make_unique<throwing_receiver>(runs)));
  p.context().start();
  auto done = p.run_until([](const std::vector<int>& xs) {
    return xs.size() >= 3;
  });
  p.context().stop();
  REQUIRE(done);
  CHECK(p.elements() == std::vector<int>{1, 2, 3});
  CHECK(*runs == 2);
  CHECK(log.contains("the receiving thread failed: the source is gone"));
}

TEST_CASE("text_file_stream picks up only new files", "[receiver][file]") {
  watched_directory dir;
  // The manual clock runs at wall-clock epoch time so that file modification
  // times and batch times compare.
  auto base = support::wall_clock_second();
  dir.write("old.txt", "old\n", base - 5000);
  test::pipeline<std::string> p{testing::default_test_options(), caf_stream::time{base}};
  p.collect(p.context().text_file_stream(dir.path()));
  p.context().start();
  dir.write("a.txt", "a1\na2\n", base + 500);
  dir.write(".hidden", "hidden\n", base + 500);
  p.next_batch(); // base + 1000
  dir.write("b.txt", "b1\r\n", base + 1500);
  p.next_batch(); // base + 2000
  p.next_batch(); // nothing new
  p.context().stop();
  auto outs = p.outputs();
  REQUIRE(outs.size() == 3);
  CHECK(outs[0] == std::vector<std::string>{"a1", "a2"});
  CHECK(outs[1] == std::vector<std::string>{"b1"});
  CHECK(outs[2].empty());
}

TEST_CASE("text_file_stream ignores files modified before start even in the "
          "first batch's interval", "[receiver][file]") {
  watched_directory dir;
  auto base = support::wall_clock_second();
  // Started half way into the interval before the first batch (base + 1 s):
  // Spark ignores what was modified up to the start time.
  test::pipeline<std::string> p{testing::default_test_options(),
                                caf_stream::time{base + 500}};
  dir.write("before.txt", "before\n", base + 200);
  dir.write("at.txt", "at\n", base + 500);
  p.collect(p.context().text_file_stream(dir.path()));
  p.context().start();
  dir.write("after.txt", "after\n", base + 700);
  p.next_batch(); // the clock at base + 1500: batch base + 1000
  p.next_batch(); // batch base + 2000
  p.context().stop();
  auto outs = p.outputs();
  REQUIRE(outs.size() == 2);
  CHECK(outs[0] == std::vector<std::string>{"after"});
  CHECK(outs[1].empty());
}

TEST_CASE("binary_records_stream cuts new files into records of a fixed "
          "length, a file of another size fails its batch",
          "[receiver][file]") {
  watched_directory dir;
  auto base = support::wall_clock_second();
  test::pipeline<std::string> p{testing::default_test_options(),
                                caf_stream::time{base}};
  p.collect(p.context().binary_records_stream(dir.path(), 4));
  p.context().start();
  dir.write("a.bin", std::string{"ab\0d\n\r\xff\x01", 8}, base + 500);
  p.next_batch(); // base + 1000
  dir.write("b.bin", "12345", base + 1500);
  p.next_batch(); // base + 2000
  dir.write("c.bin", "wxyz", base + 2500);
  p.next_batch(); // base + 3000
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 3);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason,
             Catch::Contains("b.bin' holds 5 bytes, which is not a multiple "
                             "of the record length 4"));
  CHECK_FALSE(infos[2].failure_reason);
  auto outs = p.outputs();
  REQUIRE(outs.size() == 2);
  CHECK(outs[0]
        == std::vector<std::string>{std::string{"ab\0d", 4},
                                    std::string{"\n\r\xff\x01", 4}});
  CHECK(outs[1] == std::vector<std::string>{"wxyz"});
}

TEST_CASE("file_stream reads the new files its filter takes with its "
          "reader, without new_files_only those of the 60 s before the start "
          "too",
          "[receiver][file]") {
  namespace fs = std::filesystem;
  auto new_files_only = GENERATE(true, false);
  watched_directory dir;
  auto base = support::wall_clock_second();
  // A file's numbers, separated by white space.
  auto numbers = [](const std::string& path) {
    std::ifstream in{path};
    std::vector<int> xs;
    for (int x; in >> x;)
      xs.push_back(x);
    if (!in.eof())
      throw std::runtime_error("not a number in " + path);
    return xs;
  };
  auto num_files = [](const std::string& path) {
    return fs::path{path}.extension() == ".num";
  };
  dir.write("long_ago.num", "1 2", base - 90000);
  dir.write("recent.num", "3", base - 5000);
  dir.write("recent.txt", "100", base - 5000);
  test::pipeline<int> p{testing::default_test_options(),
                        caf_stream::time{base}};
  CHECK_THROWS_WITH(p.context().file_stream<int>(dir.path(), nullptr),
                    "file_stream: null reader");
  p.collect(p.context().file_stream<int>(dir.path(), numbers, num_files,
                                         new_files_only));
  p.context().start();
  // A filter given replaces Spark's default: a name with a leading '.'
  // passes it.
  dir.write("a.num", "4\n5", base + 500);
  dir.write(".b.num", "7", base + 500);
  dir.write("a.txt", "6", base + 500);
  p.next_batch(); // base + 1000
  dir.write("bad.num", "8 x", base + 1500);
  p.next_batch(); // base + 2000
  p.next_batch(); // nothing new
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 3);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason,
             Catch::Contains("not a number in " + dir.path() + "/bad.num"));
  CHECK_FALSE(infos[2].failure_reason);
  auto outs = p.outputs();
  REQUIRE(outs.size() == 2);
  // One partition per file, in the order of their paths.
  if (new_files_only)
    CHECK(outs[0] == std::vector<int>{7, 4, 5});
  else
    CHECK(outs[0] == std::vector<int>{7, 4, 5, 3});
  CHECK(outs[1].empty());
}

// Spark's spark.streaming.fileStream.minRememberDuration: how far back
// before a batch files count, 60 s by default.
TEST_CASE("stream.file-stream.min-remember-duration sets how far back "
          "file_stream takes files without new_files_only",
          "[receiver][file]") {
  auto [remember, expected]
    = GENERATE(table<int64_t, std::vector<std::string>>(
      {{60000, {"a", "recent"}},
       {120000, {"a", "long_ago", "recent"}},
       {3000, {"a"}}}));
  watched_directory dir;
  auto base = support::wall_clock_second();
  dir.write("long_ago.txt", "long_ago", base - 90000);
  dir.write("recent.txt", "recent", base - 5000);
  auto opts = testing::default_test_options();
  opts.file_stream_min_remember_duration = duration{remember};
  test::pipeline<std::string> p{opts, caf_stream::time{base}};
  auto lines = [](const std::string& path) {
    return detail::read_lines(path);
  };
  p.collect(p.context().file_stream<std::string>(dir.path(), lines, nullptr,
                                                 false));
  p.context().start();
  dir.write("a.txt", "a", base + 500);
  p.next_batch(); // base + 1000
  p.context().stop();
  auto outs = p.outputs();
  REQUIRE(outs.size() == 1);
  CHECK(outs[0] == expected);
}

TEST_CASE("binary_records_stream refuses a record length of 0",
          "[receiver][file]") {
  testing::temporary_directory dir;
  streaming_context ssc{std::chrono::seconds(1),
                        testing::default_test_options(),
                        std::make_shared<testing::manual_clock>()};
  CHECK_THROWS_WITH(ssc.binary_records_stream(dir.path(), 0),
                    Catch::Contains("the record length must be positive"));
}

namespace {

// Takes the blocks a buffer hands over whole, or refuses them.
class recording_sink final : public detail::whole_block_sink {
public:
  void deliver(block b) override {
    if (refuse)
      throw stream_error(errc::source_failure, "the driver is gone");
    records.push_back(*detail::block_records<int>(b));
  }

  bool refuse = false;
  std::vector<std::vector<int>> records;
};

} // namespace

TEST_CASE("a block stored whole goes to the sink before store returns",
          "[receiver][sink]") {
  detail::block_buffer<int> buf{3};
  auto sink = std::make_shared<recording_sink>();
  buf.attach_sink(sink);
  buf.push_block({1, 2});
  CHECK(sink->records == std::vector<std::vector<int>>{{1, 2}});
  // Records stored one by one wait for the seal; the sink has the block
  // stored whole, so the buffer no longer keeps it.
  buf.push(3);
  auto sealed = buf.seal();
  REQUIRE(sealed.size() == 1);
  CHECK(*detail::block_records<int>(sealed[0]) == std::vector<int>{3});
  // A block the sink refuses counts as not stored: `store` throws.
  sink->refuse = true;
  CHECK_THROWS_WITH(buf.push_block({4}), "the driver is gone");
  CHECK(buf.seal().empty());
  CHECK(sink->records.size() == 1);
}

namespace {

/// Stores `blocks` vectors of `size` consecutive numbers from 0 on its own
/// thread, then fulfills `done`.
class vector_receiver final : public receiver<int> {
public:
  vector_receiver(int blocks, int size, std::promise<void> done)
    : blocks_(blocks), size_(size), done_(std::move(done)) {
  }

  ~vector_receiver() override {
    on_stop();
  }

  void on_start() override {
    thread_ = std::thread{[this] {
      for (int i = 0; i < blocks_; ++i) {
        std::vector<int> xs(static_cast<size_t>(size_));
        std::iota(xs.begin(), xs.end(), i * size_);
        store(std::move(xs));
      }
      done_.set_value();
    }};
  }

  void on_stop() override {
    if (thread_.joinable())
      thread_.join();
  }

private:
  int blocks_;
  int size_;
  std::promise<void> done_;
  std::thread thread_;
};

} // namespace

TEST_CASE("blocks stored whole on the driver do not wait in the receiver's "
          "queue",
          "[receiver][sink]") {
  // Under the manual clock nothing is sealed before the batch is cut: were
  // blocks stored whole to count in the queue until sealed, a queue of 2
  // would hold the receiver at its third `store` (Spark's
  // `store(ArrayBuffer)` pushes its block at once, whatever
  // `blockQueueSize`).
  auto opts = testing::default_test_options();
  opts.block_queue_size = 2;
  test::pipeline<int> p{opts};
  std::promise<void> stored;
  auto all_stored = stored.get_future();
  auto in = p.context().receiver_stream<int>(
    std::make_unique<vector_receiver>(30, 10, std::move(stored)));
  p.collect(in);
  auto partitions = std::make_shared<std::vector<size_t>>();
  in.foreach_rdd(
    [partitions](const rdd<int>& x) { partitions->push_back(x.partitions()); });
  p.context().start();
  // A bound for a failure, not a wait for time to pass.
  REQUIRE(all_stored.wait_for(std::chrono::seconds(60))
          == std::future_status::ready);
  p.next_batch();
  p.context().stop();
  std::vector<int> expected(300);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(p.elements() == expected);
  // One partition per block, all in the first batch.
  CHECK(*partitions == std::vector<size_t>{30});
}
