#include <map>
#include <optional>
#include <set>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/detail/build_id.hpp"
#include "caf_stream/dstream/state_operator.hpp"

namespace caf_stream::actors {

namespace {

struct holder_state {
  std::shared_ptr<const state_operator> op;
  std::shared_ptr<void> partition;
  // The last batch applied and the output it gave, or why it failed: a
  // batch comes again when it failed and another job of it needs the
  // stream, and it gets the same answer without changing the state twice
  // (a function that threw may have applied the records before).
  std::optional<time> updated;
  block output;
  std::string failure;
  static inline const char* name = "caf_stream.state_holder";
};

caf::behavior state_holder(caf::stateful_actor<holder_state>* self,
                           std::shared_ptr<const state_operator> op,
                           caf::actor driver) {
  self->state.partition = op->make_partition();
  self->state.op = std::move(op);
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
      if (what > static_cast<uint8_t>(state_call::save))
        return caf::make_error(errc::illegal_state,
                               "unknown state call " + std::to_string(what));
      auto& st = self->state;
      auto keys = [&] {
        return static_cast<int64_t>(st.op->num_keys(st.partition.get()));
      };
      auto call = static_cast<state_call>(what);
      auto update = call == state_call::update;
      if (update && st.updated == t) {
        if (!st.failure.empty())
          return caf::make_error(errc::job_failure, st.failure);
        return {st.output, keys()};
      }
      if (update) {
        st.updated = t;
        st.output = block{};
        st.failure.clear();
      }
      try {
        auto out = st.op->call(st.partition.get(), call, t, in);
        if (update)
          st.output = out;
        return {std::move(out), keys()};
      } catch (const std::exception& e) {
        if (update)
          st.failure = e.what();
        return caf::make_error(errc::job_failure, std::string{e.what()});
      }
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

struct node_state {
  // The holders spawned here, until they go down.
  std::set<caf::actor> holders;
  static inline const char* name = "caf_stream.state_node";
};

caf::behavior state_node(caf::stateful_actor<node_state>* self,
                         std::shared_ptr<detail::dstream_graph> graph,
                         std::string program) {
  auto fingerprint = graph->fingerprint();
  self->set_down_handler([=](const caf::down_msg& dm) {
    self->state.holders.erase(caf::actor_cast<caf::actor>(dm.source));
  });
  // The holders go down with the node (`streaming_context::stop`), but not
  // the other way round: a holder ends with its driver.
  self->attach_functor([=] {
    for (auto& h : self->state.holders)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  });
  return {
    [=](spawn_holder_atom, const std::string& driver_fingerprint,
        const std::string& driver_program, int32_t id,
        const std::string& signature) -> caf::result<caf::actor> {
      if (driver_program != program)
        return caf::make_error(
          errc::invalid_graph,
          "the state node runs another program: the driver is '"
            + driver_program + "', this node '" + program
            + "'; start the node with the driver's executable, or give both "
              "the same stream.app-id");
      const auto& ops = graph->state_operators();
      if (driver_fingerprint != fingerprint || id < 0
          || static_cast<size_t>(id) >= ops.size()
          || ops[static_cast<size_t>(id)]->signature() != signature)
        return caf::make_error(
          errc::invalid_graph,
          "the state node runs another graph: the driver asked for state "
          "stream "
            + std::to_string(id) + " (" + signature + ") of graph '"
            + driver_fingerprint + "', this node has "
            + std::to_string(ops.size()) + " state streams and graph '"
            + fingerprint + "'; start the node with the driver's program");
      auto driver = caf::actor_cast<caf::actor>(self->current_sender());
      auto holder = spawn_state_holder(self->system(),
                                       ops[static_cast<size_t>(id)], driver);
      self->monitor(holder);
      self->state.holders.insert(holder);
      return holder;
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

caf::actor spawn_state_node(caf::actor_system& sys,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::string program) {
  return sys.spawn(state_node, std::move(graph), std::move(program));
}

std::string program_id(const stream_options& opts) {
  if (!opts.app_id.empty())
    return "app " + opts.app_id;
  return "build " + detail::executable_build_id();
}

} // namespace caf_stream::actors
