#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/checkpoint_writer.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing.hpp"

#include "support/checkpoints.hpp"

using namespace caf_stream;
using detail::checkpoint_record;
using support::record;

namespace fs = std::filesystem;

namespace {

// A checkpoint writer whose listener bus is the test's own actor.
struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::mutex mtx;
  // The batches of the records written, as `written` saw them.
  std::vector<int64_t> written;

  caf::actor
  spawn_writer(const std::string& directory,
               std::shared_ptr<actors::runtime_state> runtime = nullptr) {
    return actors::spawn_checkpoint_writer(
      sys, directory, 10, caf::actor_cast<caf::actor>(self),
      std::move(runtime), [this](const checkpoint_record& x) {
        std::lock_guard<std::mutex> guard{mtx};
        written.push_back(x.time_ms);
      });
  }

  // Waits until every record sent before is written: the failed writes so
  // far and why the last one failed.
  std::pair<uint64_t, std::string> drain(const caf::actor& writer) {
    std::pair<uint64_t, std::string> result;
    self->request(writer, caf::infinite, actors::drain_atom::value)
      .receive(
        [&](uint64_t failed, std::string& why) {
          result = {failed, std::move(why)};
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    return result;
  }

  // The listener events in the mailbox: the writer sent them before it
  // answered the drain.
  std::vector<checkpoint_info> events() {
    std::vector<checkpoint_info> result;
    for (bool more = true; more;)
      self->receive(
        [&](listener_event& e) {
          CHECK(e.what == listener_event::kind::checkpoint_written);
          result.push_back(e.checkpoint);
        },
        caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a checkpoint writer writes each record, tells the "
                          "listener bus how long it took and answers a "
                          "drain once all are written",
                 "[actors][checkpoint_writer]") {
  testing::temporary_directory dir;
  auto writer = spawn_writer(dir.path());
  // A metadata record supersedes no data record: both are written.
  self->send(writer, record(1000, 1000));
  self->send(writer, record(2000, 1000));
  CHECK(drain(writer) == std::pair<uint64_t, std::string>{0, ""});
  auto got = events();
  REQUIRE(got.size() == 2);
  CHECK(got[0].batch_time == caf_stream::time{1000});
  CHECK(got[0].with_data);
  CHECK(got[1].batch_time == caf_stream::time{2000});
  CHECK_FALSE(got[1].with_data);
  for (const auto& x : got) {
    CHECK_FALSE(x.failure_reason);
    CHECK(x.write_time.count() >= 0);
  }
  std::vector<std::string> files;
  for (const auto& path : detail::list_checkpoints(dir.path()))
    files.push_back(fs::path{path}.filename().string());
  CHECK(files
        == std::vector<std::string>{"checkpoint-0000000002000",
                                    "checkpoint-0000000001000-state"});
  self->send_exit(writer, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(written == std::vector<int64_t>{1000, 2000});
}

TEST_CASE_METHOD(fixture, "a checkpoint writer reports a failed write to the "
                          "listener bus and the drain, and writes the next",
                 "[actors][checkpoint_writer]") {
  testing::temporary_directory dir;
  // The checkpoint directory is a file: no checkpoint can be written there.
  auto blocked = (fs::path{dir.path()} / "not-a-directory").string();
  std::ofstream{blocked} << "x";
  auto writer = spawn_writer(blocked);
  self->send(writer, record(1000, 1000));
  auto [failed, why] = drain(writer);
  CHECK(failed == 1);
  CHECK_THAT(why, Catch::StartsWith("checkpoint of batch 1000 ms failed: "));
  auto got = events();
  REQUIRE(got.size() == 1);
  CHECK(got[0].batch_time == caf_stream::time{1000});
  CHECK(got[0].failure_reason == std::optional<std::string>{why});
  self->send_exit(writer, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(written.empty());
}

TEST_CASE_METHOD(fixture, "a checkpoint writer tells the listener bus "
                          "nothing while the runtime has no listener",
                 "[actors][checkpoint_writer]") {
  testing::temporary_directory dir;
  auto runtime = std::make_shared<actors::runtime_state>();
  auto writer = spawn_writer(dir.path(), runtime);
  self->send(writer, record(1000, 1000));
  CHECK(drain(writer) == std::pair<uint64_t, std::string>{0, ""});
  CHECK(events().empty());
  runtime->add_listener(std::make_shared<streaming_listener>());
  self->send(writer, record(2000, 1000));
  CHECK(drain(writer) == std::pair<uint64_t, std::string>{0, ""});
  auto got = events();
  REQUIRE(got.size() == 1);
  CHECK(got[0].batch_time == caf_stream::time{2000});
  self->send_exit(writer, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(written == std::vector<int64_t>{1000, 2000});
}
