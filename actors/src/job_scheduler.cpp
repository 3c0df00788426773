#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/io/middleman.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/state_partition_log.hpp"

namespace caf_stream::actors {

namespace {

/// Spreads a stage's tasks over the operator workers and waits for them in
/// the scheduler's own mailbox (other messages stay queued meanwhile).
/// State streams' calls go to their holders, spawned on first use.
class worker_task_runner final : public task_runner {
public:
  worker_task_runner(caf::blocking_actor* self,
                     const std::vector<caf::actor>& workers,
                     const detail::dstream_graph& graph,
                     const stream_options& opts)
    : self_(self), workers_(workers), graph_(graph), opts_(opts) {
    // nop
  }

  ~worker_task_runner() override {
    for (auto& [id, xs] : holders_)
      for (auto& x : xs)
        self_->send_exit(x.actor, caf::exit_reason::user_shutdown);
  }

  void run(size_t n, detail::function_ref<void(size_t)> task) override {
    if (n == 0)
      return;
    if (n == 1 || workers_.empty()) {
      for (size_t i = 0; i < n; ++i)
        task(i);
      return;
    }
    // The scheduler runs the last task itself instead of waiting idle, then
    // every task no worker has started yet: tiny tasks (an empty batch's)
    // never wait for a worker to wake up, and the scheduler's share of a
    // stage grows when the workers are late.
    auto batch = std::make_shared<task_batch>(++next_id_, task, n);
    for (size_t i = 0; i + 1 < n; ++i)
      self_->send(workers_[(next_worker_++) % workers_.size()],
                  run_task_atom::value, task_ref{batch, i});
    size_t by_workers = n;
    for (size_t i = n; i-- > 0;)
      if (batch->claim(i)) {
        batch->run_task(i);
        --by_workers;
      }
    size_t done = 0;
    self_->receive_while([&] { return done < by_workers; })(
      [&](task_done_atom, uint64_t id) {
        if (id == batch->id)
          ++done;
      });
    if (batch->error)
      std::rethrow_exception(batch->error);
  }

  std::vector<block> call_state(const state_operator& op, state_call what,
                                time t, std::vector<block> in) override {
    auto n = in.size();
    auto& holders = holders_of(op, n);
    take_down_notices();
    auto remote = !opts_.state_nodes.empty();
    std::vector<std::string> failures(n);
    if (remote) {
      for (size_t i = 0; i < n; ++i) {
        if (!holders[i].lost.empty())
          failures[i] = holders[i].lost;
        else if (!holders[i].gone.empty())
          replace(op, i, holders[i], failures[i]);
      }
    }
    // With state nodes, the calls stay in the holders' logs.
    std::vector<block> sent;
    if (remote)
      sent = in;
    auto ask = [&](size_t i, block x) {
      return self_->request(holders[i].actor, state_wait(), state_atom::value,
                            static_cast<uint8_t>(what), t, std::move(x));
    };
    std::vector<std::optional<decltype(ask(0, {}))>> pending(n);
    for (size_t i = 0; i < n; ++i)
      if (failures[i].empty())
        pending[i] = ask(i, std::move(in[i]));
    std::vector<block> result(n);
    // Returns true if holder `i` was lost in the call.
    auto failed = [&](size_t i, const caf::error& e) {
      failures[i] = where(op, i) + ": " + describe(e);
      if (!remote || e != caf::sec::request_receiver_down)
        return false;
      holders[i].gone = describe(e);
      return true;
    };
    std::vector<size_t> again;
    for (size_t i = 0; i < n; ++i)
      if (pending[i])
        pending[i]->receive([&](block& x) { result[i] = std::move(x); },
                            [&](caf::error& e) {
                              if (failed(i, e))
                                again.push_back(i);
                            });
    // A holder lost in the call: its replacement gets the call again.
    for (auto i : again)
      if (replace(op, i, holders[i], failures[i]))
        ask(i, sent[i]).receive(
          [&](block& x) {
            result[i] = std::move(x);
            failures[i].clear();
          },
          [&](caf::error& e) { failed(i, e); });
    if (remote) {
      for (size_t i = 0; i < n; ++i) {
        log_call(op, i, holders[i], what, t, sent[i], result[i], failures[i]);
        if (!holders[i].lost.empty())
          failures[i] = holders[i].lost;
      }
    }
    for (auto& failure : failures)
      if (!failure.empty())
        throw stream_error(errc::job_failure, failure);
    return result;
  }

  /// Takes note of a holder that went down (its state node vanished).
  void holder_down(const caf::down_msg& dm) {
    for (auto& [id, xs] : holders_)
      for (auto& x : xs)
        if (x.actor.address() == dm.source && x.gone.empty())
          x.gone = "the state node's holder went down ("
                   + self_->system().render(dm.reason) + ")";
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
  };

  // Keeps `what` in `h`'s log; says why when the log passes
  // `stream.state-log-limit` and the partition's state is lost.
  void log_call(const state_operator& op, size_t i, holder_ref& h,
                state_call what, time t, const block& in, const block& out,
                const std::string& failure) {
    if (!h.lost.empty())
      return;
    auto records = h.log.records() + static_cast<size_t>(in.records);
    if (h.log.record(what, t, in, out, failure.empty(), !h.gone.empty()))
      return;
    h.lost = where(op, i) + ": no state node took it over, and the "
             + std::to_string(records)
             + " records the driver kept for one passed "
               "stream.state-log-limit ("
             + std::to_string(opts_.state_log_limit)
             + "), so the driver dropped them: the partition's state is lost. "
               "Restart the state nodes, then the driver with get_or_create "
               "to resume from the state of the last checkpoint";
    log_->error("{}", h.lost);
  }

  // How long the scheduler waits for a state call: a proxy answers within
  // `stream.state-timeout` (its own bound), so the second half is a
  // backstop.
  duration state_wait() const {
    return opts_.state_nodes.empty() ? opts_.state_timeout
                                     : opts_.state_timeout * 2;
  }

  // Handles the down messages of holders that are already queued.
  void take_down_notices() {
    for (bool more = true; more;)
      self_->receive([&](caf::down_msg& dm) { holder_down(dm); },
                     caf::after(std::chrono::seconds(0)) >>
                       [&] { more = false; });
  }

  // The holders of `op`'s first `n` partitions, spawned where
  // `stream.state-nodes` puts them: partition `i` on node `i % n`, or on
  // the next one that takes it.
  std::vector<holder_ref>& holders_of(const state_operator& op, size_t n) {
    auto& xs = holders_[op.state_id()];
    while (xs.size() < n) {
      auto i = xs.size();
      auto shared = graph_.state_operators().at(
        static_cast<size_t>(op.state_id()));
      holder_ref h{{}, {}, {}, state_partition_log{opts_.state_log_limit}, {}};
      if (opts_.state_nodes.empty()) {
        h.actor = spawn_state_holder(self_->system(), shared,
                                     caf::actor_cast<caf::actor>(self_));
        xs.push_back(std::move(h));
        continue;
      }
      if (!op.serializable())
        throw stream_error(errc::invalid_config,
                           where(op, i) + ": stream.state-nodes is set, but "
                             "the stream's keys, values, states or results "
                             "have no Boost.Serialization `serialize`, so "
                             "its state cannot leave this node");
      std::string failure;
      if (!place(op, i, i, h, failure))
        throw stream_error(errc::job_failure, failure);
      xs.push_back(std::move(h));
    }
    return xs;
  }

  // Puts a new holder in place of `h`, which is gone, and gives it `h`'s
  // log: on `h`'s node if it is back, else on the next node that takes it.
  // Sets `failure` and returns false if no node does.
  bool replace(const state_operator& op, size_t i, holder_ref& h,
               std::string& failure) {
    const auto& nodes = opts_.state_nodes;
    auto home = static_cast<size_t>(
      std::find(nodes.begin(), nodes.end(), h.node) - nodes.begin());
    // The node's actor went down with the holder; it may be back.
    state_nodes_.erase(h.node);
    holder_ref fresh{{}, {}, {}, std::move(h.log), {}};
    if (!place(op, i, home, fresh, failure)) {
      h.log = std::move(fresh.log);
      failure = where(op, i) + ": " + h.gone
                + ", and no state node takes its place, so its state waits "
                  "in the driver's log for one: "
                + failure;
      return false;
    }
    log_->warn("{}: the holder on {} is gone, a new one on {} took its state "
               "({} calls since the last checkpoint)",
               name_of(op, i), h.node, fresh.node,
               fresh.log.entries().size());
    h = std::move(fresh);
    return true;
  }

  // Spawns a holder for partition `i` in `h` on the first state node, from
  // node `first` on, that takes it and `h`'s log. Sets `failure` to each
  // node's reason and returns false if none does.
  bool place(const state_operator& op, size_t i, size_t first, holder_ref& h,
             std::string& failure) {
    const auto& nodes = opts_.state_nodes;
    std::vector<std::string> reasons;
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& address = nodes[(first + k) % nodes.size()];
      try {
        auto proxy = spawn_holder_proxy(self_->system(),
                                        spawn_remote(op, i, address),
                                        opts_.state_timeout);
        self_->monitor(proxy);
        std::string why;
        if (replay(proxy, h.log, why)) {
          h.actor = std::move(proxy);
          h.node = address;
          h.gone.clear();
          return true;
        }
        self_->send_exit(proxy, caf::exit_reason::user_shutdown);
        reasons.push_back(address + ": " + why);
      } catch (const stream_error& e) {
        reasons.push_back(e.what());
      }
    }
    failure.clear();
    for (auto& x : reasons)
      failure += (failure.empty() ? "" : "; ") + x;
    return false;
  }

  // Sends a new holder the calls of `log`, in order; sets `failure` and
  // returns false if one fails.
  bool replay(const caf::actor& holder, const state_partition_log& log,
              std::string& failure) {
    for (const auto& x : log.entries()) {
      bool ok = true;
      self_->request(holder, state_wait(), state_atom::value,
                     static_cast<uint8_t>(x.call), x.batch, x.input)
        .receive([](block&) {},
                 [&](caf::error& e) {
                   failure = "replaying its state failed: " + describe(e);
                   ok = false;
                 });
      if (!ok)
        return false;
    }
    return true;
  }

  // A holder for partition `i` of `op` on the state node at `address`.
  caf::actor spawn_remote(const state_operator& op, size_t i,
                          const std::string& address) {
    auto& node = state_nodes_[address];
    if (!node) {
      if (!self_->system().has_middleman())
        throw stream_error(errc::invalid_config,
                           "stream.state-nodes is set, but the actor system "
                           "has no middleman: load caf::io::middleman in its "
                           "configuration");
      auto [host, port] = parse_node_address(address, "stream.state-nodes");
      auto x = self_->system().middleman().remote_actor(host, port);
      if (!x) {
        state_nodes_.erase(address);
        throw stream_error(errc::job_failure,
                           "cannot reach the state node " + address + ": "
                             + self_->system().render(x.error()));
      }
      node = std::move(*x);
    }
    caf::actor result;
    std::string failure;
    self_->request(node, opts_.state_timeout, spawn_holder_atom::value,
                   graph_.fingerprint(), op.state_id(), op.signature())
      .receive([&](caf::actor& holder) { result = std::move(holder); },
               [&](caf::error& e) { failure = describe(e); });
    if (!result) {
      state_nodes_.erase(address);
      throw stream_error(errc::job_failure, where(op, i) + ": the state node "
                                              + address
                                              + " refused the holder: "
                                              + failure);
    }
    log_->info("{}: holder on {}", name_of(op, i), address);
    return result;
  }

  // Names a partition of a state stream in errors: "map_with_state,
  // state partition 1 (on 10.0.0.2:4242)".
  std::string where(const state_operator& op, size_t i) const {
    auto result = name_of(op, i);
    if (opts_.state_nodes.empty())
      return result;
    // Where the holder is, or where it goes.
    auto j = holders_.find(op.state_id());
    if (j != holders_.end() && i < j->second.size())
      return result + " (on " + j->second[i].node + ")";
    return result + " (on " + opts_.state_nodes[i % opts_.state_nodes.size()]
           + ")";
  }

  // "map_with_state, state partition 1".
  static std::string name_of(const state_operator& op, size_t i) {
    auto sig = op.signature();
    return sig.substr(0, sig.find('<')) + ", state partition "
           + std::to_string(i);
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
    return self_->system().render(e);
  }

  caf::blocking_actor* self_;
  const std::vector<caf::actor>& workers_;
  const detail::dstream_graph& graph_;
  const stream_options& opts_;
  std::map<int32_t, std::vector<holder_ref>> holders_;
  std::map<std::string, caf::actor> state_nodes_;
  std::shared_ptr<spdlog::logger> log_ = detail::logger("scheduler");
  uint64_t next_id_ = 0;
  size_t next_worker_ = 0;
};

class job_scheduler final : public caf::blocking_actor {
public:
  job_scheduler(caf::actor_config& cfg, std::vector<caf::actor> workers,
                std::shared_ptr<detail::dstream_graph> graph,
                std::shared_ptr<caf_stream::clock> clk,
                std::shared_ptr<runtime_state> state, caf::actor listener_bus,
                caf::actor checkpoint_writer,
                std::map<int32_t, caf::actor> rate_controllers,
                stream_options opts)
    : caf::blocking_actor(cfg),
      listener_bus_(std::move(listener_bus)),
      checkpoint_writer_(std::move(checkpoint_writer)),
      rate_controllers_(std::move(rate_controllers)),
      opts_(std::move(opts)),
      workers_(std::move(workers)),
      graph_(std::move(graph)),
      clk_(std::move(clk)),
      state_(std::move(state)),
      log_(detail::logger("scheduler")) {
    // nop
  }

  void act() override {
    worker_task_runner runner{this, workers_, *graph_, opts_};
    scoped_task_runner installed{runner};
    bool running = true;
    receive_while(running)(
      [&](job_set& js) {
        if (!state_->stopping())
          run(js);
        return js.batch_time;
      },
      [&](stop_atom, bool graceful) {
        if (graceful && last_completed_)
          write_checkpoint(*last_completed_, true);
        running = false;
      },
      [&](caf::down_msg& dm) { runner.holder_down(dm); });
  }

  const char* name() const override {
    return "caf_stream.job_scheduler";
  }

private:
  void run(job_set& js) {
    auto info = js.info(graph_->batch_interval());
    info.processing_start_time = clk_->now();
    tell_listeners(listener_event::kind::batch_started, info);
    for (auto& j : js.jobs) {
      try {
        j.run();
      } catch (const std::exception& e) {
        auto what = "job " + std::to_string(j.output_id) + " of batch "
                    + to_string(js.batch_time) + " failed: " + e.what();
        log_->error("{}", what);
        if (!info.failure_reason)
          info.failure_reason = std::move(what);
      }
    }
    info.processing_end_time = clk_->now();
    if (!info.failure_reason) {
      write_checkpoint(js.batch_time,
                       graph_->data_checkpoint_due(js.batch_time));
      last_completed_ = js.batch_time;
    }
    graph_->clear_metadata(js.batch_time);
    log_->debug("batch {} done: {} records, {} ms", to_string(js.batch_time),
                info.num_records, info.processing_delay()->count());
    tell_listeners(listener_event::kind::batch_completed, info);
    report_to_rate_controllers(info);
    state_->batch_completed(info);
  }

  // Each event costs the bus a wake-up: none while nobody listens.
  void tell_listeners(listener_event::kind what, const batch_info& info) {
    if (state_->has_listeners())
      send(listener_bus_, listener_event{what, info});
  }

  // Spark's RateController listens to completed batches: each controller
  // gets its stream's records and the batch's delays.
  void report_to_rate_controllers(const batch_info& info) {
    if (info.failure_reason)
      return;
    for (auto& [stream_id, controller] : rate_controllers_) {
      auto i = info.stream_records.find(stream_id);
      send(controller, batch_done_atom::value, info.batch_time.milliseconds(),
           i != info.stream_records.end() ? i->second : int64_t{0},
           info.processing_delay()->count(), info.scheduling_delay()->count());
    }
  }

  // Makes the checkpoint of batch `t` here, where the graph and the state
  // holders are, and leaves the writing to the checkpoint writer. A
  // checkpoint that cannot be made is logged, not fatal: the batch's results
  // stand and the next checkpoint may succeed.
  void write_checkpoint(time t, bool with_data) {
    if (!checkpoint_writer_)
      return;
    try {
      auto pending = state_->pending();
      pending.erase(std::remove(pending.begin(), pending.end(), t),
                    pending.end());
      send(checkpoint_writer_, graph_->make_checkpoint(t, pending, with_data));
    } catch (const std::exception& e) {
      log_->error("checkpoint of batch {} failed: {}", to_string(t), e.what());
    }
  }

  caf::actor listener_bus_;
  caf::actor checkpoint_writer_;
  std::map<int32_t, caf::actor> rate_controllers_;
  stream_options opts_;
  std::vector<caf::actor> workers_;
  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<caf_stream::clock> clk_;

  std::shared_ptr<runtime_state> state_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<time> last_completed_;
};

} // namespace

caf::actor spawn_job_scheduler(caf::actor_system& sys,
                               std::vector<caf::actor> workers,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<caf_stream::clock> clk,
                               std::shared_ptr<runtime_state> state,
                               caf::actor listener_bus,
                               caf::actor checkpoint_writer,
                               std::map<int32_t, caf::actor> rate_controllers,
                               stream_options opts) {
  return sys.spawn<job_scheduler, caf::detached>(
    std::move(workers), std::move(graph), std::move(clk), std::move(state),
    std::move(listener_bus), std::move(checkpoint_writer),
    std::move(rate_controllers), std::move(opts));
}

} // namespace caf_stream::actors
