#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/job_executor.hpp"
#include "caf_stream/actors/job_scheduler.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

struct scheduler_state {
  caf::actor executor;
  caf::actor listener_bus;
  std::map<int32_t, caf::actor> rate_controllers;
  std::shared_ptr<runtime_state> state;
  duration batch_interval{0};
  bool serialize_messages = false;
  // Batches handed to the executor and not answered yet.
  size_t running = 0;
  // Set by `stop`: whether the stop is graceful.
  std::optional<bool> stopping;
  std::shared_ptr<spdlog::logger> log = detail::logger("scheduler");
  static inline const char* name = "caf_stream.job_scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

// Each event costs the bus a wake-up: none while nobody listens.
void tell_listeners(scheduler_actor* self, listener_event::kind what,
                    const batch_info& info) {
  auto& st = self->state;
  if (!st.state->has_listeners())
    return;
  listener_event event;
  event.what = what;
  event.info = info;
  self->send(st.listener_bus, std::move(event));
}

// Spark's RateController listens to completed batches: each controller gets
// its stream's records and the batch's delays.
void report_to_rate_controllers(scheduler_actor* self, const batch_info& info) {
  if (info.failure_reason)
    return;
  for (auto& [stream_id, controller] : self->state.rate_controllers) {
    auto i = info.stream_records.find(stream_id);
    self->send(controller, batch_done_atom::value,
               info.batch_time.milliseconds(),
               i != info.stream_records.end() ? i->second : int64_t{0},
               info.processing_delay()->count(),
               info.scheduling_delay()->count());
  }
}

// Ends the executor (after a graceful stop's final checkpoint), then this
// actor.
void finish(scheduler_actor* self) {
  auto& st = self->state;
  self->request(st.executor, caf::infinite, stop_atom::value, *st.stopping)
    .then([=](bool) { self->quit(); },
          [=](caf::error&) { self->quit(); });
}

// `js` as another node gets it; a batch whose records cannot leave this
// node fails with the reason.
job_set as_sent(scheduler_actor* self, job_set js) {
  try {
    return through_bytes(self->system(), js);
  } catch (const std::exception& e) {
    js.blocks.clear();
    js.fail(e.what(), "sending the batch");
    return js;
  }
}

// Answers the generator: batch `info` completed, or was skipped (it did not
// start) while stopping. Reports a batch that ran; the last answer while
// stopping ends the scheduler.
void completed(scheduler_actor* self, caf::typed_response_promise<time> done,
               const batch_info& info) {
  auto& st = self->state;
  if (info.processing_start_time) {
    tell_listeners(self, listener_event::kind::batch_completed, info);
    report_to_rate_controllers(self, info);
    st.state->batch_completed(info);
  }
  done.deliver(info.batch_time);
  if (--st.running == 0 && st.stopping)
    finish(self);
}

// Hands batch `js` to the executor at once: its mailbox is the queue, so
// that it goes from one batch to the next without waiting for this actor.
caf::result<time> submit(scheduler_actor* self, job_set& js) {
  auto& st = self->state;
  if (st.stopping)
    return js.batch_time;
  auto done = self->make_response_promise<time>();
  auto info = js.info(st.batch_interval);
  if (st.serialize_messages)
    js = as_sent(self, std::move(js));
  ++st.running;
  self->request(st.executor, caf::infinite, std::move(js))
    .then([=](batch_info& result) { completed(self, done, result); },
          [=](caf::error& err) mutable {
            info.processing_start_time = info.submission_time;
            info.failure_reason = "the job executor failed: "
                                  + self->system().render(err);
            self->state.log->error("batch {}: {}", to_string(info.batch_time),
                                   *info.failure_reason);
            completed(self, done, info);
          });
  return done;
}

caf::behavior job_scheduler(scheduler_actor* self,
                            std::vector<caf::actor> workers,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::shared_ptr<caf_stream::clock> clk,
                            std::shared_ptr<runtime_state> state,
                            caf::actor listener_bus,
                            caf::actor checkpoint_writer,
                            std::map<int32_t, caf::actor> rate_controllers,
                            stream_options opts,
                            std::shared_ptr<stage_table> stages,
                            caf::actor nodes) {
  auto& st = self->state;
  st.listener_bus = std::move(listener_bus);
  st.rate_controllers = std::move(rate_controllers);
  st.state = state;
  st.batch_interval = graph->batch_interval();
  st.serialize_messages = opts.serialize_messages;
  // The executor's "batch started" comes through here, after its answer
  // for the batch before: listeners hear of a batch's completion first.
  st.executor = spawn_job_executor(self->system(), std::move(workers),
                                   std::move(graph), std::move(clk),
                                   std::move(state),
                                   caf::actor_cast<caf::actor>(self),
                                   std::move(checkpoint_writer),
                                   std::move(opts), std::move(stages),
                                   std::move(nodes));
  // The executor ends with this actor, however it ends.
  self->attach_functor([ex = st.executor](const caf::error&) {
    caf::anon_send_exit(ex, caf::exit_reason::user_shutdown);
  });
  return {
    [=](job_set& js) { return submit(self, js); },
    [=](listener_event& e) {
      self->send(self->state.listener_bus, std::move(e));
    },
    [=](stop_atom, bool graceful) {
      auto& st = self->state;
      if (st.stopping)
        return;
      // The executor skips the batches that did not start.
      st.stopping = graceful;
      if (st.running == 0)
        finish(self);
    },
  };
}

} // namespace

caf::actor spawn_job_scheduler(caf::actor_system& sys,
                               std::vector<caf::actor> workers,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<caf_stream::clock> clk,
                               std::shared_ptr<runtime_state> state,
                               caf::actor listener_bus,
                               caf::actor checkpoint_writer,
                               std::map<int32_t, caf::actor> rate_controllers,
                               stream_options opts,
                               std::shared_ptr<stage_table> stages,
                               caf::actor nodes) {
  return sys.spawn(job_scheduler, std::move(workers), std::move(graph),
                   std::move(clk), std::move(state), std::move(listener_bus),
                   std::move(checkpoint_writer), std::move(rate_controllers),
                   std::move(opts), std::move(stages), std::move(nodes));
}

} // namespace caf_stream::actors
