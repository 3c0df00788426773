#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "caf_stream/testing/fixtures.hpp"

#include "support/child_process.hpp"

using namespace caf_stream;
namespace fs = std::filesystem;

// SIGINT and SIGTERM through `shutdown_hook`, in a child process
// (`shutdown_child`) that saves every batch as text files.

namespace {

// The names in `dir` that end in `ending`.
std::vector<std::string> entries_ending(const std::string& dir,
                                        const std::string& ending) {
  std::vector<std::string> result;
  for (auto& x : fs::directory_iterator(dir)) {
    auto name = x.path().filename().string();
    if (name.size() >= ending.size()
        && name.compare(name.size() - ending.size(), ending.size(), ending)
             == 0)
      result.push_back(name);
  }
  return result;
}

} // namespace

TEST_CASE("a signal stops the context through the shutdown hook",
          "[actors][shutdown_hook]") {
  auto [sig, graceful] = GENERATE(table<int, bool>(
    {{SIGTERM, true}, {SIGINT, false}}));
  testing::temporary_directory dir;
  std::vector<std::string> args{CAF_STREAM_SHUTDOWN_CHILD,
                                dir.path() + "/out", "run"};
  if (graceful)
    args.emplace_back("--stream.stop-gracefully-on-shutdown");
  support::child_process child{args};
  REQUIRE(child.read_line() == "ready");
  child.send_signal(sig);
  CHECK(child.wait() == 128 + sig);
  // Every batch that ran completed: its output is in place, none is half
  // written.
  CHECK_FALSE(entries_ending(dir.path(), "").empty());
  CHECK(entries_ending(dir.path(), ".tmp").empty());
}

TEST_CASE("a second signal ends the program at once and removes the output "
          "being written", "[actors][shutdown_hook]") {
  testing::temporary_directory dir;
  support::child_process child{
    {CAF_STREAM_SHUTDOWN_CHILD, dir.path() + "/out", "hang"}};
  REQUIRE(child.read_line() == "writing");
  // The batch in flight never ends: the first signal's stop waits for it.
  REQUIRE(entries_ending(dir.path(), ".tmp").size() == 1);
  // Signals sent before the child handled the previous one merge into one:
  // signal until it is gone (bounded, for a child that never ends).
  std::optional<int> status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!status && std::chrono::steady_clock::now() < deadline) {
    child.send_signal(SIGINT);
    std::this_thread::yield();
    status = child.exit_status_if_done();
  }
  CHECK(status == 128 + SIGINT);
  CHECK(entries_ending(dir.path(), ".tmp").empty());
}

TEST_CASE("the same signal twice from one process, as `timeout` sends it, "
          "is one request to stop, another signal ends the program",
          "[actors][shutdown_hook]") {
  testing::temporary_directory dir;
  support::child_process child{
    {CAF_STREAM_SHUTDOWN_CHILD, dir.path() + "/out", "hang", "log"}};
  REQUIRE(child.wait_for_line("writing"));
  // The batch in flight never ends: the stop waits for it. Each signal is
  // sent once the child handled the one before (unhandled ones merge).
  child.send_signal(SIGTERM);
  REQUIRE(child.wait_for_line("Terminated: stopping the streaming context"));
  child.send_signal(SIGTERM);
  CHECK(child.wait_for_line("Terminated again from process "
                            + std::to_string(::getpid())
                            + " at once (as `timeout` sends it): still "
                              "stopping"));
  child.send_signal(SIGINT);
  CHECK(child.wait() == 128 + SIGINT);
  CHECK(entries_ending(dir.path(), ".tmp").empty());
}
