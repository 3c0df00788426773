#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/job_generator.hpp"
#include "caf_stream/actors/job_scheduler.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/actor_context.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

namespace {

// A graph of one queue stream and one output, started at 0 under a manual
// clock, with the actors around a job generator or scheduler; the test's
// own actor stands in for the others.
struct fixture : support::actor_context {
  std::shared_ptr<rdd_queue<int>> queue = std::make_shared<rdd_queue<int>>();
  std::shared_ptr<runtime_state> state = std::make_shared<runtime_state>();
  std::vector<std::vector<int>> outputs;

  fixture() {
    // Events go to the bus (here: the test) only while someone listens.
    state->add_listener(std::make_shared<streaming_listener>());
    ssc.queue_stream(queue).foreach_rdd([this](const rdd<int>& x) {
      auto xs = x.collect();
      if (!xs.empty() && xs.front() < 0)
        throw std::runtime_error("negative input");
      outputs.push_back(std::move(xs));
    });
    ssc.graph()->start(caf_stream::time{0});
  }

  // The next message, which must be a listener event.
  listener_event next_event() {
    listener_event result;
    self->receive([&](listener_event& x) { result = std::move(x); },
                  caf::after(std::chrono::minutes(1)) >>
                    [] { FAIL("no listener event"); });
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "the job generator cuts a batch at each point of "
                          "the grid and hears of its completion",
                 "[actors][generator]") {
  auto tracker = spawn_receiver_tracker(sys);
  auto gen = spawn_job_generator(sys, ssc.graph(), clk, tracker, self, self,
                                 {self}, state, caf_stream::time{1000});
  queue->push(parallelize(std::vector<int>{1, 2, 3}, 2));
  // Holds the scheduler's answers back until the test gives them.
  std::vector<caf::response_promise> answers;
  auto next_job_set = [&] {
    job_set result;
    self->receive(
      [&](job_set& js) {
        answers.push_back(self->make_response_promise());
        result = std::move(js);
      },
      caf::after(std::chrono::minutes(1)) >> [] { FAIL("no job set"); });
    return result;
  };
  clk->advance(std::chrono::seconds(1));
  auto submitted = next_event();
  CHECK(submitted.what == listener_event::kind::batch_submitted);
  CHECK(submitted.info.batch_time == caf_stream::time{1000});
  auto first = next_job_set();
  CHECK(first.batch_time == caf_stream::time{1000});
  CHECK(first.jobs.size() == 1);
  // The second batch is cut while the first has not completed: the rate
  // controllers hear that it waits.
  clk->advance(std::chrono::seconds(1));
  CHECK(next_event().info.batch_time == caf_stream::time{2000});
  CHECK(next_job_set().batch_time == caf_stream::time{2000});
  self->receive([](batch_waiting_atom) {},
                caf::after(std::chrono::minutes(1)) >>
                  [] { FAIL("no batch_waiting"); });
  // Both complete: the third batch waits for nothing. Its generator's turn
  // ends before the fourth tick, so a `batch_waiting` would come first.
  answers[0].deliver(caf_stream::time{1000});
  answers[1].deliver(caf_stream::time{2000});
  clk->advance(std::chrono::seconds(1));
  CHECK(next_event().info.batch_time == caf_stream::time{3000});
  CHECK(next_job_set().batch_time == caf_stream::time{3000});
  answers[2].deliver(caf_stream::time{3000});
  clk->advance(std::chrono::seconds(1));
  CHECK(next_event().info.batch_time == caf_stream::time{4000});
  for (auto& x : {gen, tracker})
    self->send_exit(x, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "the job scheduler runs a batch, tells the "
                          "listener bus and the rate controllers, and answers "
                          "its time",
                 "[actors][scheduler]") {
  auto opts = testing::default_test_options().resolved();
  std::vector<caf::actor> workers{spawn_operator_worker(sys),
                                  spawn_operator_worker(sys)};
  auto sched = spawn_job_scheduler(sys, workers, ssc.graph(), clk, state,
                                   self, nullptr, {{0, self}}, opts);
  auto run = [&](caf_stream::time t) {
    job_set js;
    js.batch_time = t;
    js.submission_time = t;
    js.inputs = ssc.graph()->generate_inputs(t);
    // A queue stream counts no records (as Spark's); the scheduler passes
    // the batch's count on.
    js.num_records = 7;
    js.jobs = ssc.graph()->generate_jobs(t);
    caf_stream::time answer;
    self->request(sched, std::chrono::minutes(1), std::move(js))
      .receive([&](caf_stream::time x) { answer = x; },
               [&](caf::error& e) { FAIL(sys.render(e)); });
    return answer;
  };
  queue->push(parallelize(std::vector<int>{4, 5}, 2));
  clk->set_time(caf_stream::time{1000});
  CHECK(run(caf_stream::time{1000}) == caf_stream::time{1000});
  CHECK(outputs == std::vector<std::vector<int>>{{4, 5}});
  // The executor tells of the driver as it starts.
  CHECK(next_event().what == listener_event::kind::executor_added);
  auto started = next_event();
  CHECK(started.what == listener_event::kind::batch_started);
  CHECK(started.info.processing_start_time == caf_stream::time{1000});
  // Its one output operation started and completed in between (Spark's
  // OutputOperationStarted and ...Completed).
  auto op_started = next_event();
  CHECK(op_started.what == listener_event::kind::output_operation_started);
  CHECK(op_started.output.batch_time == caf_stream::time{1000});
  CHECK(op_started.output.id == 0);
  CHECK(op_started.output.name == "foreach_rdd");
  CHECK(op_started.output.start_time == caf_stream::time{1000});
  CHECK_FALSE(op_started.output.end_time);
  auto op_completed = next_event();
  CHECK(op_completed.what
        == listener_event::kind::output_operation_completed);
  CHECK(op_completed.output.end_time == caf_stream::time{1000});
  CHECK_FALSE(op_completed.output.failure_reason);
  auto completed = next_event();
  CHECK(completed.what == listener_event::kind::batch_completed);
  CHECK(completed.info.num_records == 7);
  CHECK_FALSE(completed.info.failure_reason);
  self->receive(
    [](batch_done_atom, int64_t t, int64_t records, int64_t, int64_t) {
      CHECK(t == 1000);
      CHECK(records == 0);
    },
    caf::after(std::chrono::minutes(1)) >> [] { FAIL("no batch_done"); });
  // A failing job fails its batch, which still completes; rate controllers
  // hear only of batches that succeeded.
  queue->push(parallelize(std::vector<int>{-1}, 1));
  clk->set_time(caf_stream::time{2000});
  CHECK(run(caf_stream::time{2000}) == caf_stream::time{2000});
  CHECK(next_event().what == listener_event::kind::batch_started);
  CHECK(next_event().what == listener_event::kind::output_operation_started);
  auto op_failed = next_event();
  CHECK(op_failed.what == listener_event::kind::output_operation_completed);
  REQUIRE(op_failed.output.failure_reason);
  CHECK_THAT(*op_failed.output.failure_reason,
             Catch::Contains("negative input"));
  auto failed = next_event();
  REQUIRE(failed.info.failure_reason);
  CHECK_THAT(*failed.info.failure_reason,
             Catch::Contains("negative input"));
  self->receive([](batch_done_atom, int64_t, int64_t, int64_t,
                   int64_t) { FAIL("batch_done for a failed batch"); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  self->send(sched, stop_atom::value, false);
  for (auto& x : workers)
    self->send_exit(x, caf::exit_reason::user_shutdown);
}
