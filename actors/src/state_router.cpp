#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/blocking_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/state_holder.hpp"
#include "caf_stream/actors/state_router.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/state_partition_log.hpp"

namespace caf_stream::actors {

namespace {

/// Routes one state stream's calls to the holders of its partitions and,
/// with state nodes, keeps each partition's calls since its last checkpoint
/// to give a holder that takes over from a lost one.
class state_router final : public caf::blocking_actor {
public:
  state_router(caf::actor_config& cfg, std::shared_ptr<const state_operator> op,
               std::string graph_fingerprint, stream_options opts,
               caf::actor driver, caf::actor directory)
    : caf::blocking_actor(cfg),
      op_(std::move(op)),
      graph_fingerprint_(std::move(graph_fingerprint)),
      opts_(std::move(opts)),
      driver_(std::move(driver)),
      directory_(std::move(directory)),
      log_(detail::logger("scheduler")) {
    // Without nodes in `stream.nodes`, state that cannot leave the driver
    // stays there, waiting for no node to join.
    remote_ = !opts_.state_nodes.empty()
              || (directory_ && op_->serializable());
  }

  void act() override {
    if (driver_)
      monitor(driver_);
    bool running = true;
    receive_while(running)(
      [&](state_atom, uint8_t what, time t, block_list& in)
        -> caf::result<block_list, int64_t, state_call_report> {
        if (what > static_cast<uint8_t>(state_call::save))
          return caf::make_error(errc::illegal_state, "unknown state call "
                                                        + std::to_string(what));
        state_call_report report;
        block_list out;
        try {
          out = call(static_cast<state_call>(what), t, std::move(in),
                     report.tasks);
        } catch (const stream_error& e) {
          report.failure = caf::make_error(e.code(), std::string{e.what()});
        }
        report.nodes = reached_nodes();
        return {std::move(out), keys(), std::move(report)};
      },
      [&](caf::down_msg& dm) {
        if (driver_ && dm.source == driver_.address())
          running = false;
        else
          holder_down(dm);
      },
      [&](caf::exit_msg&) { running = false; });
    for (auto& x : holders_)
      if (x.actor)
        send_exit(x.actor, caf::exit_reason::user_shutdown);
  }

  const char* name() const override {
    return "caf_stream.state_router";
  }

private:
  // A state partition's holder: on this node, or a proxy for one on a state
  // node, with what it went through since its state was last saved.
  struct holder_ref {
    caf::actor actor;
    // The state node it is on ("" : this node).
    std::string node;
    // Why the holder is gone, if it is: its state is lost with it.
    std::string gone;
    // The calls a new holder in its place gets again.
    state_partition_log log;
    // Why the partition's state is lost for good (its log was dropped).
    std::string lost;
    // The keys the partition held after its last call.
    int64_t keys = 0;
  };

  // The keys the stream's partitions hold in all.
  int64_t keys() const {
    int64_t result = 0;
    for (const auto& x : holders_)
      result += x.keys;
    return result;
  }

  // Runs `what` at the holders of the first `in.size()` partitions, and
  // counts each partition's call in `tasks` where it ran; throws
  // `stream_error` naming the first partition that failed.
  block_list call(state_call what, time t, block_list in,
                  std::map<std::string, executor_tasks>& tasks) {
    auto n = in.size();
    unreachable_.clear();
    if (remote_)
      nodes_ = worker_nodes(this, directory_, opts_);
    holders_of(n);
    take_down_notices();
    auto remote = remote_;
    std::vector<std::string> failures(n);
    if (remote) {
      for (size_t i = 0; i < n; ++i) {
        if (!holders_[i].lost.empty())
          failures[i] = holders_[i].lost;
        else if (!holders_[i].gone.empty())
          replace(i, failures[i]);
      }
    }
    // With state nodes, the calls stay in the holders' logs.
    block_list sent;
    if (remote)
      sent = in;
    auto ask = [&](size_t i, block x) {
      return request(holders_[i].actor, state_wait(), state_atom::value,
                     static_cast<uint8_t>(what), t, std::move(x));
    };
    std::vector<std::optional<decltype(ask(0, {}))>> pending(n);
    for (size_t i = 0; i < n; ++i)
      if (failures[i].empty())
        pending[i] = ask(i, std::move(in[i]));
    block_list result(n);
    auto answered = [&](size_t i, block& x, int64_t keys) {
      result[i] = std::move(x);
      holders_[i].keys = keys;
      ++tasks[executor_of(i)].completed;
    };
    // Returns true if holder `i` was lost in the call.
    auto failed = [&](size_t i, const caf::error& e) {
      ++tasks[executor_of(i)].failed;
      failures[i] = where(i) + ": " + describe(e);
      if (holders_[i].node.empty() || !loses_holder(e))
        return false;
      holders_[i].gone = describe(e);
      // Its node may still be connected but hang: no new holder goes there
      // in this call.
      if (e == caf::sec::request_timeout)
        unreachable_.emplace(holders_[i].node,
                             holders_[i].node + ": " + describe(e));
      return true;
    };
    std::vector<size_t> again;
    for (size_t i = 0; i < n; ++i)
      if (pending[i])
        pending[i]->receive(
          [&](block& x, int64_t keys) { answered(i, x, keys); },
          [&](caf::error& e) {
            if (failed(i, e))
              again.push_back(i);
          });
    // A holder lost in the call: its replacement gets the call again.
    for (auto i : again)
      if (replace(i, failures[i]))
        ask(i, sent[i]).receive(
          [&](block& x, int64_t keys) {
            answered(i, x, keys);
            failures[i].clear();
          },
          [&](caf::error& e) { failed(i, e); });
    if (remote) {
      for (size_t i = 0; i < n; ++i) {
        log_call(i, what, t, sent[i], result[i], failures[i]);
        if (!holders_[i].lost.empty())
          failures[i] = holders_[i].lost;
      }
      if (what == state_call::save)
        move_to_nodes(n);
    }
    for (auto& failure : failures)
      if (!failure.empty())
        throw stream_error(errc::job_failure, failure);
    return result;
  }

  // Takes note of a holder that went down (its state node vanished).
  void holder_down(const caf::down_msg& dm) {
    for (auto& x : holders_)
      if (x.actor.address() == dm.source && x.gone.empty())
        x.gone = "the state node's holder went down ("
                 + system().render(dm.reason) + ")";
  }

  // Keeps `what` in holder `i`'s log; says why when the log passes
  // `stream.state-log-limit` and the partition's state is lost.
  void log_call(size_t i, state_call what, time t, const block& in,
                const block& out, const std::string& failure) {
    auto& h = holders_[i];
    if (!h.lost.empty())
      return;
    auto records = h.log.records() + static_cast<size_t>(in.records);
    if (h.log.record(what, t, in, out, failure.empty(), !h.gone.empty())) {
      if (h.gone.empty() && h.log.records() > opts_.state_log_limit)
        compact(i, t);
      return;
    }
    h.lost = where(i) + ": no node took it over, and the "
             + std::to_string(records)
             + " records the driver kept for one passed "
               "stream.state-log-limit ("
             + std::to_string(opts_.state_log_limit)
             + "), so the driver dropped them: the partition's state is lost. "
               "Restart the state nodes, then the driver with get_or_create "
               "to resume from the state of the last checkpoint";
    log_->error("{}", h.lost);
  }

  // How long the router waits for a state call: a proxy answers within
  // `stream.state-timeout` (its own bound), so the second half is a
  // backstop.
  duration state_wait() const {
    return remote_ ? opts_.state_timeout * 2 : opts_.state_timeout;
  }

  // Handles the down messages of holders that are already queued.
  void take_down_notices() {
    for (bool more = true; more;)
      receive([&](caf::down_msg& dm) { holder_down(dm); },
              caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
  }

  // Spawns the holders of the first `n` partitions that have none yet,
  // where `stream.nodes` puts them: partition `i` on node `i % n`, or
  // on the next one that takes it.
  void holders_of(size_t n) {
    while (holders_.size() < n) {
      auto i = holders_.size();
      holder_ref h{{}, {}, {}, state_partition_log{opts_.state_log_limit}, {},
                   0};
      if (!remote_) {
        h.actor = spawn_state_holder(system(), op_,
                                     caf::actor_cast<caf::actor>(this));
        holders_.push_back(std::move(h));
        continue;
      }
      if (!op_->serializable())
        throw stream_error(errc::invalid_config,
                           where(i) + ": stream.nodes is set, but "
                             "the stream's keys, values, states or results "
                             "have no Boost.Serialization `serialize`, so "
                             "its state cannot leave this node");
      std::string failure;
      if (!place(i, home_of(i), h, failure, true))
        throw stream_error(errc::job_failure, failure);
      holders_.push_back(std::move(h));
    }
  }

  // Puts a new holder in place of holder `i`, which is gone, and gives it
  // the old one's log: on its node if it is back, else on the next node
  // that takes it, else on this node. Sets `failure` and
  // returns false if not even this node does.
  bool replace(size_t i, std::string& failure) {
    auto& h = holders_[i];
    // A proxy of a holder that hangs is still up: it must not answer
    // later.
    if (h.actor)
      send_exit(h.actor, caf::exit_reason::user_shutdown);
    auto home = static_cast<size_t>(
      std::find(nodes_.begin(), nodes_.end(), h.node) - nodes_.begin());
    // The node's actor went down with the holder; it may be back.
    state_nodes_.erase(h.node);
    holder_ref fresh{{}, {}, {}, std::move(h.log), {}, h.keys};
    if (!place(i, nodes_.empty() ? 0 : home % nodes_.size(), fresh, failure,
               true)) {
      h.log = std::move(fresh.log);
      failure = where(i) + ": " + h.gone
                + ", and no node takes its place, so its state waits in "
                  "the driver's log: "
                + failure;
      return false;
    }
    log_->warn("{}: the holder on {} is gone ({}), a new one on {} took its "
               "state ({} calls since it was last saved)",
               name_of(i), h.node, h.gone, node_name(fresh.node),
               fresh.log.entries().size());
    h = std::move(fresh);
    return true;
  }

  // Moves the partitions among the first `n` that this node took over to
  // the state nodes that take them again, now that their state was saved
  // and their logs are short.
  void move_to_nodes(size_t n) {
    if (nodes_.empty())
      return;
    for (size_t i = 0; i < n; ++i) {
      auto& h = holders_[i];
      if (!h.node.empty() || !h.gone.empty() || !h.lost.empty())
        continue;
      holder_ref moved{{}, {}, {}, h.log, {}, h.keys};
      std::string failure;
      if (!place(i, home_of(i), moved, failure, false)) {
        log_->debug("{}: stays on this node: {}", name_of(i), failure);
        continue;
      }
      log_->info("{}: moved back to the state node {}", name_of(i),
                 moved.node);
      send_exit(h.actor, caf::exit_reason::user_shutdown);
      h = std::move(moved);
    }
  }

  // Asks holder `i` for its state and keeps that instead of its log, which
  // passed `stream.state-log-limit`.
  void compact(size_t i, time t) {
    auto& h = holders_[i];
    request(h.actor, state_wait(), state_atom::value,
            static_cast<uint8_t>(state_call::save), t, block{})
      .receive(
        [&](block& saved, int64_t) {
          h.log.record(state_call::save, t, block{}, saved, true, false);
        },
        [&](caf::error& e) {
          log_->warn("{}: keeps its log of {} records past "
                     "stream.state-log-limit: saving its state failed: {}",
                     name_of(i), h.log.records(), describe(e));
        });
  }

  // Spawns a holder for partition `i` in `h` on the first state node, from
  // node `first` on and not unreachable in this call, that takes it and
  // `h`'s log, or with `or_here` on this node if none does and none runs
  // another program. Sets `failure` to each node's reason and returns false
  // if none takes it.
  bool place(size_t i, size_t first, holder_ref& h, std::string& failure,
             bool or_here) {
    const auto& nodes = nodes_;
    std::vector<std::string> reasons;
    bool refused = false;
    auto take = [&](caf::actor holder, const std::string& node) {
      std::string why;
      if (replay(holder, h.log, why)) {
        h.actor = std::move(holder);
        h.node = node;
        h.gone.clear();
        return true;
      }
      send_exit(holder, caf::exit_reason::user_shutdown);
      reasons.push_back(node_name(node) + ": " + why);
      return false;
    };
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& address = nodes[(first + k) % nodes.size()];
      if (auto x = unreachable_.find(address); x != unreachable_.end()) {
        reasons.push_back(x->second);
        continue;
      }
      try {
        auto proxy = spawn_holder_proxy(system(), spawn_remote(i, address),
                                        opts_.state_timeout);
        monitor(proxy);
        if (take(std::move(proxy), address))
          return true;
      } catch (const stream_error& e) {
        refused = refused || e.code() == errc::invalid_graph;
        reasons.push_back(e.what());
      }
    }
    auto joined = [&] {
      std::string result;
      for (auto& x : reasons)
        result += (result.empty() ? "" : "; ") + x;
      return result;
    };
    if (or_here && !refused) {
      // No state node takes it: the driver holds it until one does.
      auto why = joined();
      if (take(spawn_state_holder(system(), op_,
                                  caf::actor_cast<caf::actor>(this)),
               {})) {
        if (nodes.empty())
          log_->info("{}: there is no worker node, so this node holds it "
                     "until one joins",
                     name_of(i));
        else
          log_->warn("{}: no state node takes it ({}), so this node holds "
                     "it until one does",
                     name_of(i), why);
        return true;
      }
    }
    failure = joined();
    return false;
  }

  // Sends a new holder the calls of `log`, in order; sets `failure` and
  // returns false if one fails.
  bool replay(const caf::actor& holder, const state_partition_log& log,
              std::string& failure) {
    for (const auto& x : log.entries()) {
      bool ok = true;
      request(holder, state_wait(), state_atom::value,
              static_cast<uint8_t>(x.call), x.batch, x.input)
        .receive([](block&, int64_t) {},
                 [&](caf::error& e) {
                   failure = "replaying its state failed: " + describe(e);
                   ok = false;
                 });
      if (!ok)
        return false;
    }
    return true;
  }

  // A holder for partition `i` on the state node at `address`.
  caf::actor spawn_remote(size_t i, const std::string& address) {
    auto& node = state_nodes_[address];
    if (!node) {
      auto connected = reach_node(this, directory_, address, "state node",
                                  opts_.state_timeout);
      if (!connected) {
        state_nodes_.erase(address);
        auto failure = message_of(connected.error());
        // Tried once per call: each try may wait for a handshake that
        // times out.
        unreachable_.emplace(address, failure);
        throw stream_error(errc::job_failure, failure);
      }
      node = std::move(*connected);
      // Its task slots, for the executors (one if it does not answer; a
      // node of another program refuses the holder next).
      auto bound = std::min(opts_.state_timeout, node_connect_bound);
      if (auto n = node_slots(this, node, graph_fingerprint_,
                              program_id(opts_), bound))
        slots_[address] = *n;
    }
    caf::actor result;
    std::string failure;
    // A node of another program or graph: a configuration error, which no
    // other node hides.
    auto code = errc::job_failure;
    request(node, opts_.state_timeout, spawn_holder_atom::value,
            graph_fingerprint_, program_id(opts_), op_->state_id(),
            op_->signature())
      .receive([&](caf::actor& holder) { result = std::move(holder); },
               [&](caf::error& e) {
                 failure = describe(e);
                 if (e == errc::invalid_graph)
                   code = errc::invalid_graph;
               });
    if (!result) {
      state_nodes_.erase(address);
      failure = where(i) + ": the state node " + address
                + " refused the holder: " + failure;
      if (code != errc::invalid_graph)
        unreachable_.emplace(address, failure);
      throw stream_error(code, failure);
    }
    log_->info("{}: holder on {}", name_of(i), address);
    return result;
  }

  // The worker nodes reached for holders, for the executors.
  std::vector<state_call_report::node> reached_nodes() const {
    std::vector<state_call_report::node> result;
    for (const auto& [address, node] : state_nodes_) {
      auto slots = slots_.find(address);
      result.push_back({address, node,
                        slots != slots_.end() ? slots->second : size_t{1}});
    }
    return result;
  }

  // The executor where holder `i` runs: "driver" or its node's address.
  std::string executor_of(size_t i) const {
    return holders_[i].node.empty() ? "driver" : holders_[i].node;
  }

  // Names a partition in errors: "map_with_state, state partition 1 (on
  // 10.0.0.2:4242)".
  std::string where(size_t i) const {
    auto result = name_of(i);
    if (!remote_)
      return result;
    // Where the holder is, or where it goes.
    if (i < holders_.size())
      return result + " (on " + node_name(holders_[i].node) + ")";
    return result + " (on "
           + node_name(nodes_.empty() ? std::string{} : nodes_[home_of(i)])
           + ")";
  }

  // The node partition `i` goes to first: node `i % n`.
  size_t home_of(size_t i) const {
    return nodes_.empty() ? 0 : i % nodes_.size();
  }

  // A holder's node for messages: "10.0.0.2:4242", "" for this one.
  static std::string node_name(const std::string& node) {
    return node.empty() ? "the driver" : node;
  }

  // Whether a remote holder that failed with `e` is lost: its node went
  // down, or hangs.
  static bool loses_holder(const caf::error& e) {
    return e == caf::sec::request_receiver_down
           || e == caf::sec::request_timeout;
  }

  // "map_with_state, state partition 1".
  std::string name_of(size_t i) const {
    return op_->operation() + ", state partition " + std::to_string(i);
  }

  // A holder's own message (a user function threw, ...), a proxy's word on
  // a holder that went down, else CAF's rendering of the error.
  std::string describe(const caf::error& e) const {
    if (is_stream_error(e))
      return message_of(e);
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    if (e == caf::sec::request_timeout)
      return "no answer within stream.state-timeout ("
             + to_string(opts_.state_timeout)
             + "): the state node may be gone or hung";
    return system().render(e);
  }

  std::shared_ptr<const state_operator> op_;
  std::string graph_fingerprint_;
  stream_options opts_;
  caf::actor driver_;
  // The node directory (null: the nodes are `stream.nodes`).
  caf::actor directory_;
  // Whether the partitions go to worker nodes, and those nodes as of the
  // last call.
  bool remote_ = false;
  std::vector<std::string> nodes_;
  std::vector<holder_ref> holders_;
  std::map<std::string, caf::actor> state_nodes_;
  // Their task slots, as they answered when reached.
  std::map<std::string, size_t> slots_;
  // The nodes that failed or hung in this call, and why: no holder goes
  // there until the next call.
  std::map<std::string, std::string> unreachable_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_state_router(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              std::string graph_fingerprint,
                              stream_options opts, caf::actor driver,
                              caf::actor nodes) {
  return sys.spawn<state_router, caf::detached>(
    std::move(op), std::move(graph_fingerprint), std::move(opts),
    std::move(driver), std::move(nodes));
}

} // namespace caf_stream::actors
