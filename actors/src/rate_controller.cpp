#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/rate_controller.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/node.hpp"

namespace caf_stream::actors {

namespace {

struct rate_controller_state {
  int32_t stream_id = 0;
  caf::actor receiver;
  std::optional<pid_rate_estimator> estimator;
  // Whether a rate is in force (the initial rate, an estimate, or the
  // minimum a waiting batch set); while not, a waiting batch sets the
  // minimum.
  bool rate_set = false;
  std::shared_ptr<spdlog::logger> log = detail::logger("rate");
  static inline const char* name = "caf_stream.rate_controller";
};

caf::behavior
rate_controller(caf::stateful_actor<rate_controller_state>* self,
                int32_t stream_id, caf::actor receiver,
                pid_rate_estimator estimator, bool initial_rate_set) {
  auto& st = self->state;
  st.stream_id = stream_id;
  st.receiver = std::move(receiver);
  st.estimator.emplace(estimator);
  st.rate_set = initial_rate_set;
  return {
    [=](batch_done_atom, int64_t time_ms, int64_t records,
        int64_t processing_ms, int64_t scheduling_ms) {
      auto& st = self->state;
      auto rate = st.estimator->compute(time_ms, records, processing_ms,
                                        scheduling_ms);
      if (!rate)
        return;
      st.log->debug("stream {}: rate {:.0f} records/s after batch {} ms "
                    "({} records, processing {} ms, scheduling {} ms)",
                    st.stream_id, *rate, time_ms, records, processing_ms,
                    scheduling_ms);
      st.rate_set = true;
      self->send(st.receiver, rate_atom::value, *rate);
    },
    // Spark's estimator skips the first batch, so its first estimate comes
    // when the second batch completes. Until then an unlimited receiver
    // piles up batches that each hold more than an interval's work, and the
    // backlog takes dozens of batches to drain. A batch that waits for an
    // earlier one shows the input outruns processing already: the stream
    // receives at the minimum rate until there is an estimate.
    [=](batch_waiting_atom) {
      auto& st = self->state;
      if (st.rate_set)
        return;
      st.rate_set = true;
      st.log->debug("stream {}: a batch waits before the first estimate; "
                    "rate {:.0f} records/s until there is one",
                    st.stream_id, st.estimator->min_rate());
      self->send(st.receiver, rate_atom::value,
                 st.estimator->min_rate());
    },
  };
}

caf::behavior
rate_target(caf::event_based_actor*,
            std::shared_ptr<detail::rate_controlled_input> input) {
  return {
    [=](rate_atom, double records_per_second) {
      input->update_rate(records_per_second);
    },
  };
}

} // namespace

caf::actor spawn_rate_controller(caf::actor_system& sys, int32_t stream_id,
                                 caf::actor receiver,
                                 pid_rate_estimator estimator,
                                 bool initial_rate_set) {
  return sys.spawn(rate_controller, stream_id, std::move(receiver),
                   estimator, initial_rate_set);
}

caf::actor
spawn_rate_target(caf::actor_system& sys,
                  std::shared_ptr<detail::rate_controlled_input> input) {
  return sys.spawn(rate_target, std::move(input));
}

} // namespace caf_stream::actors
