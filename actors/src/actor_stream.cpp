#include "caf_stream/actor_stream.hpp"

#include <atomic>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "caf/message_view.hpp"

#include "caf_stream/detail/log.hpp"

namespace caf_stream::detail {

caf::error actor_stream_stopped(const std::string& name) {
  return caf::make_error(errc::illegal_state,
                         "actor_stream " + name
                           + ": the streaming context stopped; the records "
                             "were not stored");
}

void actor_stream_dropped(const std::string& name, size_t records) {
  logger("actor_stream")
    ->warn("actor_stream {}: {} records sent after the streaming context "
           "stopped were not stored",
           name, records);
}

caf::error actor_stream_store_failed(const std::string& name, size_t records,
                                     bool answered, const std::string& what) {
  auto why = "actor_stream " + name + ": storing " + std::to_string(records)
             + (records == 1 ? " record" : " records") + " failed: " + what;
  logger("actor_stream")
    ->error("{}; {}", why,
            answered ? "the request is answered with the error"
                     : "they were sent without a request, so no sender "
                       "learns it");
  return caf::make_error(errc::source_failure,
                         why + "; the records were not stored");
}

caf::error actor_stream_unexpected(const std::string& name,
                                   const caf::message_view& x) {
  auto what = "actor_stream " + name + ": the message "
              + x.content().stringify() + " holds no record of the stream";
  logger("actor_stream")->warn("{}; ignored", what);
  return caf::make_error(errc::illegal_state, what);
}

struct actor_watch::state {
  std::mutex mtx;
  std::optional<std::string> reason;
};

actor_watch::actor_watch(const caf::actor& dst)
  : state_(std::make_shared<state>()) {
  if (!dst)
    throw std::invalid_argument("send_to: the actor is null");
  // Runs when the actor goes down (at once if it is already gone).
  dst->attach_functor([st = state_](const caf::error& reason) {
    std::lock_guard<std::mutex> guard{st->mtx};
    st->reason = reason ? to_string(reason) : std::string{"normal exit"};
  });
}

std::optional<std::string> actor_watch::gone() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->reason;
}

void throw_actor_gone(const std::string& reason) {
  throw stream_error(errc::job_failure,
                     "send_to: the actor that receives the batches is gone ("
                       + reason + ")");
}

} // namespace caf_stream::detail
