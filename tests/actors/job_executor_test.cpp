#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/job_executor.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/actor_context.hpp"
#include "support/words.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

namespace {

using counts = std::vector<std::pair<std::string, int>>;
using tasks = std::map<std::string, executor_tasks>;

// The blocks of receiver stream 0 holding `lines`, one block.
std::vector<block> lines_block(std::vector<std::string> lines) {
  detail::block_buffer<std::string> buf{0};
  for (auto& x : lines)
    buf.push(x);
  return buf.seal();
}

// A word count over one receiver stream (never started: the test hands the
// executor its blocks; a line "boom" makes its task throw), its graph
// started at 0 under a manual clock, and a job executor with one worker
// (two task slots: the executor is one); the test's own actor is the
// listener bus.
struct fixture : support::actor_context {
  std::shared_ptr<runtime_state> state = std::make_shared<runtime_state>();
  std::vector<caf::actor> workers{spawn_operator_worker(sys)};
  std::vector<counts> outputs;
  caf::actor executor;

  fixture() {
    state->add_listener(std::make_shared<streaming_listener>());
    ssc.socket_text_stream("127.0.0.1", 9)
      .flat_map([](const std::string& line) {
        if (line == "boom")
          throw std::runtime_error("a task threw");
        return support::split_words(line);
      })
      .map([](const std::string& w) { return std::make_pair(w, 1); })
      .reduce_by_key([](int x, int y) { return x + y; }, 3)
      .foreach_rdd([this](const rdd<std::pair<std::string, int>>& x) {
        auto xs = x.collect();
        std::sort(xs.begin(), xs.end());
        outputs.push_back(std::move(xs));
      });
    ssc.graph()->start(caf_stream::time{0});
    executor = spawn_job_executor(sys, workers, ssc.graph(), clk, state, self,
                                  nullptr, testing::default_test_options());
  }

  ~fixture() {
    for (auto& x : workers)
      self->send_exit(x, caf::exit_reason::user_shutdown);
    self->send_exit(executor, caf::exit_reason::user_shutdown);
  }

  job_set batch(caf_stream::time t, std::vector<block> blocks) {
    job_set js;
    js.batch_time = t;
    js.submission_time = t;
    for (auto& b : blocks)
      js.num_records += b.records;
    js.stream_records[0] = js.num_records;
    js.blocks[0] = std::move(blocks);
    js.jobs = ssc.graph()->generate_jobs(t);
    return js;
  }

  batch_info run(job_set js) {
    batch_info result;
    self->request(executor, std::chrono::minutes(1), std::move(js))
      .receive([&](batch_info& x) { result = std::move(x); },
               [&](caf::error& e) { FAIL(sys.render(e)); });
    return result;
  }

  listener_event next_event() {
    listener_event result;
    self->receive([&](listener_event& x) { result = std::move(x); },
                  caf::after(std::chrono::minutes(1)) >>
                    [] { FAIL("no listener event"); });
    return result;
  }

  // `js` written to bytes and read back, as another node gets it.
  job_set through_bytes(job_set js) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    if (auto err = sink(js))
      FAIL(sys.render(err));
    job_set result;
    caf::binary_deserializer source{sys, buf};
    if (auto err = source(result))
      FAIL(sys.render(err));
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "the job executor runs a batch on the blocks its "
                          "job set carries and answers the batch's figures",
                 "[actors][executor]") {
  clk->set_time(caf_stream::time{1500});
  auto info = run(batch(caf_stream::time{1000},
                        lines_block({"a b", "b c b", ""})));
  CHECK(outputs == std::vector<counts>{{{"a", 1}, {"b", 3}, {"c", 1}}});
  CHECK(info.batch_time == caf_stream::time{1000});
  CHECK(info.num_records == 3);
  CHECK(info.stream_records == std::map<int32_t, int64_t>{{0, 3}});
  CHECK(info.submission_time == caf_stream::time{1000});
  CHECK(info.processing_start_time == caf_stream::time{1500});
  CHECK(info.processing_end_time == caf_stream::time{1500});
  CHECK_FALSE(info.failure_reason);
  REQUIRE(info.output_operations.size() == 1);
  CHECK(info.output_operations[0].name == "foreach_rdd");
  CHECK_FALSE(info.output_operations[0].failure_reason);
  // The driver ran the map task of the one block and the 3 tasks of the
  // collect over the reduced partitions.
  CHECK(info.tasks == tasks{{"driver", {4, 0}}});
  // The listeners heard of the driver as an executor as it started, with
  // two task slots: its worker and itself.
  auto added = next_event();
  CHECK(added.what == listener_event::kind::executor_added);
  CHECK(added.executor.id == "driver");
  CHECK(added.executor.active);
  CHECK(added.executor.total_cores == 2);
  auto started = next_event();
  CHECK(started.what == listener_event::kind::batch_started);
  CHECK(started.info.batch_time == caf_stream::time{1000});
  CHECK(started.info.processing_start_time == caf_stream::time{1500});
  // A batch without blocks is empty; the next batch's blocks are its own.
  run(batch(caf_stream::time{2000}, {}));
  run(through_bytes(batch(caf_stream::time{3000}, lines_block({"c", "c"}))));
  CHECK(outputs
        == std::vector<counts>{{{"a", 1}, {"b", 3}, {"c", 1}},
                               {},
                               {{"c", 2}}});
}

TEST_CASE_METHOD(fixture, "the job executor counts a task that threw as "
                          "failed on the driver",
                 "[actors][executor][executors]") {
  auto info = run(batch(caf_stream::time{1000}, lines_block({"boom"})));
  REQUIRE(info.failure_reason);
  CHECK(info.failure_reason->find("a task threw") != std::string::npos);
  // The map task failed, so the collect's tasks never ran.
  CHECK(info.tasks == tasks{{"driver", {0, 1}}});
  // The next batch's tasks are its own.
  info = run(batch(caf_stream::time{2000}, lines_block({"a"})));
  CHECK(info.tasks == tasks{{"driver", {4, 0}}});
}

TEST_CASE_METHOD(fixture, "the job executor fails every job of a batch whose "
                          "inputs could not be fixed",
                 "[actors][executor]") {
  job_set js;
  js.batch_time = caf_stream::time{1000};
  js.jobs = {job{caf_stream::time{1000}, 0, "generating the batch"}};
  js.failure = "the directory vanished";
  auto info = run(std::move(js));
  REQUIRE(info.failure_reason);
  CHECK(*info.failure_reason
        == "job 0 of batch 1000 ms failed: the directory vanished");
  REQUIRE(info.output_operations.size() == 1);
  CHECK(info.output_operations[0].name == "generating the batch");
  CHECK(outputs.empty());
}

TEST_CASE_METHOD(fixture, "the job executor answers a stop and ends",
                 "[actors][executor]") {
  self->monitor(executor);
  bool stopped = false;
  self->request(executor, std::chrono::minutes(1), stop_atom::value, true)
    .receive([&](bool x) { stopped = x; },
             [&](caf::error& e) { FAIL(sys.render(e)); });
  CHECK(stopped);
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::minutes(1)) >>
                  [] { FAIL("the executor did not end"); });
}
