#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/job_generator.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"

#include "timer.hpp"

namespace caf_stream::actors {

namespace {

struct generator_state {
  std::shared_ptr<detail::dstream_graph> graph;
  std::shared_ptr<clock> clk;
  caf::actor tracker;
  caf::actor scheduler;
  caf::actor listener_bus;
  std::vector<caf::actor> rate_controllers;
  std::shared_ptr<runtime_state> state;
  // Batches handed to the scheduler that it has not completed yet.
  std::set<time> pending;
  std::shared_ptr<spdlog::logger> log = detail::logger("generator");
  static inline const char* name = "caf_stream.job_generator";
};

using generator_actor = caf::stateful_actor<generator_state>;

// Fixes the inputs of batch `t` and builds its jobs. The batch's blocks
// travel in the job set. A failing input (a directory that vanished, ...)
// fails the batch instead of the runtime.
job_set make_job_set(generator_actor* self, time t, block_list& blocks) {
  auto& st = self->state;
  job_set js;
  js.batch_time = t;
  try {
    for (auto& b : blocks)
      js.blocks[b.stream_id].push_back(std::move(b));
    for (auto& in : st.graph->receiver_inputs()) {
      auto& mine = js.blocks[in->stream_id()];
      int64_t n = 0;
      for (auto& b : mine)
        n += b.records;
      js.stream_records[in->stream_id()] = n;
      js.num_records += n;
    }
    js.inputs = st.graph->generate_inputs(t);
    for (auto& [index, x] : js.inputs)
      js.num_records += x.records;
    for (auto& in : st.graph->rate_controlled_inputs())
      js.stream_records[in->stream_id()] = in->records_of(t);
    js.jobs = st.graph->generate_jobs(t);
  } catch (const std::exception& e) {
    // An input that waits on the outside world gives up when the context
    // stops (`input_node_base::interrupt`).
    if (st.state->stopping())
      st.log->info("batch {} not generated: {}", to_string(t), e.what());
    else
      st.log->error("generating batch {} failed: {}", to_string(t),
                    e.what());
    js.jobs.clear();
    js.fail(e.what(), "generating the batch");
  }
  // The batch was due at its time: a late tick (a busy generator, batches
  // caught up after recovery) counts as scheduling delay.
  js.submission_time = std::min(t, st.clk->now());
  return js;
}

// Hands batch `js` to the scheduler and tells the rate controllers when
// batches queue up.
void submit(generator_actor* self, job_set js) {
  auto& st = self->state;
  auto t = js.batch_time;
  st.state->batch_generated(t);
  if (st.state->has_listeners()) {
    listener_event event;
    event.what = listener_event::kind::batch_submitted;
    event.info = js.info(st.graph->batch_interval());
    self->send(st.listener_bus, std::move(event));
  }
  st.pending.insert(t);
  self->request(st.scheduler, caf::infinite, std::move(js))
    .then([=](time done) { self->state.pending.erase(done); });
  if (!st.rate_controllers.empty() && st.pending.size() > 1)
    for (auto& ctl : st.rate_controllers)
      self->send(ctl, batch_waiting_atom::value);
}

caf::behavior job_generator(generator_actor* self,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::shared_ptr<clock> clk, caf::actor tracker,
                            caf::actor scheduler, caf::actor listener_bus,
                            std::vector<caf::actor> rate_controllers,
                            std::shared_ptr<runtime_state> state,
                            time first_batch) {
  auto& st = self->state;
  st.listener_bus = std::move(listener_bus);
  st.graph = std::move(graph);
  st.clk = std::move(clk);
  st.tracker = std::move(tracker);
  st.scheduler = std::move(scheduler);
  st.rate_controllers = std::move(rate_controllers);
  st.state = std::move(state);
  send_at(self, *st.clk, first_batch, tick_batch_atom::value, first_batch);
  return {
    [=](tick_batch_atom, time t) {
      auto& st = self->state;
      // Arm the next tick first: the batch grid does not wait for a batch.
      auto next = t + st.graph->batch_interval();
      send_at(self, *st.clk, next, tick_batch_atom::value, next);
      // Without receiver streams there are no blocks to ask the tracker for.
      if (st.graph->receiver_inputs().empty()) {
        block_list none;
        submit(self, make_job_set(self, t, none));
        return;
      }
      self->request(st.tracker, caf::infinite, allocate_atom::value, t)
        .then(
          [=](block_list& blocks) {
            submit(self, make_job_set(self, t, blocks));
          },
          [=](caf::error& err) {
            // The tracker kept the blocks for the next batch.
            job_set js;
            js.batch_time = t;
            js.fail(message_of(err), "generating the batch");
            js.submission_time = std::min(t, self->state.clk->now());
            submit(self, std::move(js));
          });
    },
  };
}

} // namespace

caf::actor spawn_job_generator(caf::actor_system& sys,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<clock> clk, caf::actor tracker,
                               caf::actor scheduler, caf::actor listener_bus,
                               std::vector<caf::actor> rate_controllers,
                               std::shared_ptr<runtime_state> state,
                               time first_batch) {
  return sys.spawn(job_generator, std::move(graph), std::move(clk),
                   std::move(tracker), std::move(scheduler),
                   std::move(listener_bus), std::move(rate_controllers),
                   std::move(state), first_batch);
}

} // namespace caf_stream::actors
