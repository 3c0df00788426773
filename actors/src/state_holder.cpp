#include <map>
#include <optional>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/state_holder.hpp"
#include "caf_stream/dstream/state_operator.hpp"

#include "held_partition.hpp"

namespace caf_stream::actors {

namespace {

struct holder_state {
  std::optional<held_partition> partition;
  static inline const char* name = "caf_stream.state_holder";
};

caf::behavior state_holder(caf::stateful_actor<holder_state>* self,
                           std::shared_ptr<const state_operator> op,
                           caf::actor driver) {
  self->state.partition.emplace(std::move(op));
  // A holder without its driver serves no one: its state is the driver's
  // to checkpoint, and a new driver spawns new holders.
  if (driver) {
    self->monitor(driver);
    self->set_down_handler([=](const caf::down_msg& dm) {
      if (dm.source == driver)
        self->quit();
    });
  }
  return {
    [=](state_atom, uint8_t what, time t,
        const block& in) -> caf::result<block, int64_t> {
      auto x = self->state.partition->call(what, t, in);
      if (!x)
        return std::move(x.error());
      return {std::move(x->output), x->keys};
    },
  };
}

struct proxy_state {
  // The calls in flight, by a number of the proxy's own.
  std::map<uint64_t, caf::response_promise> pending;
  uint64_t next_id = 0;
  static inline const char* name = "caf_stream.holder_proxy";
};

caf::behavior holder_proxy(caf::stateful_actor<proxy_state>* self,
                           caf::actor holder, duration timeout) {
  self->monitor(holder);
  self->set_down_handler([=](const caf::down_msg& dm) {
    if (dm.source != holder)
      return;
    auto why = "the state node's holder went down ("
               + self->system().render(dm.reason) + ")";
    for (auto& [id, promise] : self->state.pending)
      promise.deliver(caf::make_error(caf::sec::request_receiver_down, why));
    self->state.pending.clear();
    self->quit(dm.reason);
  });
  self->attach_functor(
    [=] { caf::anon_send_exit(holder, caf::exit_reason::user_shutdown); });
  auto answer = [=](uint64_t id, auto&&... xs) {
    auto i = self->state.pending.find(id);
    if (i == self->state.pending.end())
      return;
    i->second.deliver(std::forward<decltype(xs)>(xs)...);
    self->state.pending.erase(i);
  };
  return {
    [=](state_atom, uint8_t what, time t,
        block& in) -> caf::result<block, int64_t> {
      auto promise = self->make_response_promise();
      auto id = self->state.next_id++;
      self->state.pending.emplace(id, promise);
      self->request(holder, timeout, state_atom::value, what, t, std::move(in))
        .then([=](block& out,
                  int64_t keys) { answer(id, std::move(out), keys); },
              [=](caf::error& e) { answer(id, std::move(e)); });
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_state_holder(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              caf::actor driver) {
  return sys.spawn(state_holder, std::move(op), std::move(driver));
}

caf::actor spawn_holder_proxy(caf::actor_system& sys, caf::actor holder,
                              duration timeout) {
  return sys.spawn(holder_proxy, std::move(holder), timeout);
}

} // namespace caf_stream::actors
