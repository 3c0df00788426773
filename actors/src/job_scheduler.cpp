#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

// A batch the scheduler holds until the executor is free, with the
// generator's promise of its completion.
struct queued_batch {
  job_set js;
  caf::typed_response_promise<time> done;
};

struct scheduler_state {
  caf::actor executor;
  caf::actor listener_bus;
  std::map<int32_t, caf::actor> rate_controllers;
  std::shared_ptr<runtime_state> state;
  duration batch_interval{0};
  bool serialize_messages = false;
  std::deque<queued_batch> queued;
  // Whether the executor runs a batch.
  bool busy = false;
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
  if (st.state->has_listeners())
    self->send(st.listener_bus, listener_event{what, info, {}});
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

void run_next(scheduler_actor* self);

// `js` as another node gets it; a batch whose records cannot leave this
// node fails with the reason.
job_set as_sent(scheduler_actor* self, job_set js) {
  try {
    return through_bytes(self->system(), js);
  } catch (const std::exception& e) {
    js.blocks.clear();
    js.failure = e.what();
    if (js.jobs.empty())
      js.jobs.push_back(job{js.batch_time, 0, "sending the batch"});
    return js;
  }
}

// Reports batch `info`, answers the generator and goes on with the next
// batch, or ends when stopping.
void completed(scheduler_actor* self, caf::typed_response_promise<time> done,
               const batch_info& info) {
  auto& st = self->state;
  tell_listeners(self, listener_event::kind::batch_completed, info);
  report_to_rate_controllers(self, info);
  st.state->batch_completed(info);
  done.deliver(info.batch_time);
  st.busy = false;
  if (st.stopping)
    finish(self);
  else
    run_next(self);
}

// Hands the next batch to the executor unless it runs one. Batches queued
// while the runtime stops are skipped (they count as done).
void run_next(scheduler_actor* self) {
  auto& st = self->state;
  while (!st.busy && !st.queued.empty()) {
    auto next = std::move(st.queued.front());
    st.queued.pop_front();
    if (st.state->stopping()) {
      next.done.deliver(next.js.batch_time);
      continue;
    }
    st.busy = true;
    auto info = next.js.info(st.batch_interval);
    if (st.serialize_messages)
      next.js = as_sent(self, std::move(next.js));
    self->request(st.executor, caf::infinite, std::move(next.js))
      .then([=](batch_info& result) { completed(self, next.done, result); },
            [=](caf::error& err) mutable {
              info.failure_reason = "the job executor failed: "
                                    + self->system().render(err);
              self->state.log->error("batch {}: {}", to_string(info.batch_time),
                                     *info.failure_reason);
              completed(self, next.done, info);
            });
  }
}

caf::behavior job_scheduler(scheduler_actor* self, caf::actor executor,
                            caf::actor listener_bus,
                            std::map<int32_t, caf::actor> rate_controllers,
                            std::shared_ptr<runtime_state> state,
                            duration batch_interval, bool serialize_messages) {
  auto& st = self->state;
  st.executor = std::move(executor);
  st.listener_bus = std::move(listener_bus);
  st.rate_controllers = std::move(rate_controllers);
  st.state = std::move(state);
  st.batch_interval = batch_interval;
  st.serialize_messages = serialize_messages;
  // The executor ends with this actor, however it ends.
  self->attach_functor([ex = st.executor](const caf::error&) {
    caf::anon_send_exit(ex, caf::exit_reason::user_shutdown);
  });
  return {
    [=](job_set& js) -> caf::result<time> {
      auto& st = self->state;
      if (st.stopping)
        return js.batch_time;
      auto done = self->make_response_promise<time>();
      st.queued.push_back(queued_batch{std::move(js), done});
      run_next(self);
      return done;
    },
    [=](stop_atom, bool graceful) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = graceful;
      for (auto& skipped : st.queued)
        skipped.done.deliver(skipped.js.batch_time);
      st.queued.clear();
      if (!st.busy)
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
                               std::shared_ptr<stage_table> stages) {
  auto interval = graph->batch_interval();
  auto serialize = opts.serialize_messages;
  auto executor = spawn_job_executor(sys, std::move(workers), std::move(graph),
                                     std::move(clk), state, listener_bus,
                                     std::move(checkpoint_writer),
                                     std::move(opts), std::move(stages));
  return sys.spawn(job_scheduler, std::move(executor), std::move(listener_bus),
                   std::move(rate_controllers), std::move(state), interval,
                   serialize);
}

} // namespace caf_stream::actors
