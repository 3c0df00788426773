#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/job_executor.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/state_router.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/scheduler/executor_table.hpp"
#include "caf_stream/scheduler/remote_blocks.hpp"
#include "caf_stream/scheduler/stage_placement.hpp"

#include "block_fetch.hpp"
#include "deadline.hpp"
#include "node_map_stages.hpp"
#include "node_watch.hpp"
#include "task_spreader.hpp"

namespace caf_stream::actors {

namespace {

/// Spreads a stage's tasks over the operator workers (`task_spreader`), or
/// runs a stage that is shorter than a worker's wake-up in place
/// (`stage_placement`). State streams' calls go to their routers, spawned
/// on first use.
class worker_task_runner final : public task_runner {
public:
  worker_task_runner(caf::blocking_actor* self,
                     const std::vector<caf::actor>& workers,
                     const detail::dstream_graph& graph,
                     const stream_options& opts, stage_table& stages,
                     const caf::actor& nodes)
    : self_(self),
      workers_(workers),
      graph_(graph),
      opts_(opts),
      nodes_(nodes),
      spreader_(self, workers, stages, opts.serialize_messages),
      placement_(in_place_bound),
      executors_(workers.size() + 1),
      watch_(self->system(), executors_) {
    if (opts_.tasks_on_workers())
      on_nodes_.emplace(self, graph, opts, nodes, executors_, watch_);
  }

  /// Names the tasks of the stages from now on as batch `js`'s, whose
  /// inputs go along with the map stages that run on worker nodes.
  void set_batch(const job_set& js) {
    batch_time_ = js.batch_time;
    placement_.new_batch();
    if (on_nodes_)
      on_nodes_->set_batch(js);
  }

  ~worker_task_runner() override {
    for (auto& [id, router] : routers_)
      self_->send_exit(router, caf::exit_reason::user_shutdown);
  }

  /// The executors that ran the tasks, for the listeners.
  executor_table& executors() noexcept {
    return executors_;
  }

  /// Tells the executor table of the worker nodes lost since they were
  /// reached.
  void note_lost_nodes() {
    watch_.note_lost();
  }

  void run_map_stage(const detail::rdd_node_base& shuffle, size_t n,
                     detail::function_ref<void(size_t)> task) override {
    // The tasks that run here read what the stage's parents compute (and
    // the blocks that worker nodes keep, fetched).
    auto here = [&](const std::vector<uint32_t>& tasks) {
      shuffle.prepare_parents(*this);
      run(tasks.size(), [&](size_t i) { task(tasks[i]); });
    };
    // The shuffles whose partitions the stage reads reduce first: the
    // nodes' tasks get those partitions from here.
    if (on_nodes_ && detail::map_tasks_read_reduced(shuffle))
      shuffle.prepare_parents(*this);
    if (!on_nodes_ || !on_nodes_->run(shuffle, n, here)) {
      shuffle.prepare_parents(*this);
      run(n, task);
    }
  }

  std::optional<std::vector<std::string>>
  run_result_stage(const detail::rdd_node_base& node,
                   const std::vector<uint32_t>& partitions,
                   result_form form) override {
    if (!on_nodes_)
      return std::nullopt;
    // The partitions that every node failed are computed here, from the
    // blocks fetched.
    auto here = [&](const std::vector<uint32_t>& failed) {
      node.prepare(*this);
      return node.run_result_tasks(failed, *this, form);
    };
    return on_nodes_->run_result_stage(node, partitions, form, here);
  }

  // The nodes that keep the block are asked through this process's own
  // connections to them (see `fetch_kept_block`).
  block fetch_block(const block& b) override {
    auto reach = [this](const std::string& address, const caf::actor& named) {
      return on_nodes_ ? on_nodes_->node_at(address, named) : caf::actor{};
    };
    return fetch_kept_block(self_->system(), b, opts_.shuffle_fetch_chunk,
                            opts_.state_timeout, reach);
  }

  std::vector<block> call_state(const state_operator& op, state_call what,
                                time t, std::vector<block> in) override {
    auto& router = routers_[op.state_id()];
    if (!router)
      router = spawn_state_router(
        self_->system(),
        graph_.state_operators().at(static_cast<size_t>(op.state_id())),
        graph_.fingerprint(), opts_, caf::actor_cast<caf::actor>(self_),
        nodes_);
    block_list result;
    caf::error failure;
    // The router bounds each of its holders' calls.
    self_->request(router, caf::infinite, state_atom::value,
                   static_cast<uint8_t>(what), t, std::move(in))
      .receive(
        [&](block_list& xs, int64_t keys, state_call_report& report) {
          result = std::move(xs);
          state_keys_[op.state_id()] = keys;
          counted(report);
          failure = std::move(report.failure);
        },
        [&](caf::error& e) { failure = std::move(e); });
    if (!failure)
      return result;
    if (is_stream_error(failure))
      throw stream_error(static_cast<errc>(failure.code()),
                         message_of(failure));
    throw stream_error(errc::job_failure,
                       "the state stream's router failed: "
                         + self_->system().render(failure));
  }

  /// A worker node's answer to map stage `id` that came once the stage
  /// was done with it, from the node's task host `host`.
  void late_answer(uint64_t id, const caf::actor& host) {
    if (on_nodes_)
      on_nodes_->late_answer(id, host);
    else
      self_->send(host, release_atom::value, id);
  }

  /// The keys each state stream held after its last call, by state id.
  const std::map<int32_t, int64_t>& state_keys() const noexcept {
    return state_keys_;
  }

protected:
  void run_tasks(size_t n,
                 detail::function_ref<void(size_t)> task) override {
    if (n == 0)
      return;
    // The tasks that threw, counted where they ran (nothing to count while
    // all go well).
    std::atomic<size_t> failed{0};
    auto counted = [&](size_t i) {
      try {
        task(i);
      } catch (...) {
        failed.fetch_add(1, std::memory_order_relaxed);
        throw;
      }
    };
    size_t ended = 0;
    try {
      run_here_or_spread(n, counted, ended);
    } catch (...) {
      executors_.completed("driver", ended - failed);
      executors_.failed("driver", failed);
      throw;
    }
    executors_.completed("driver", n);
  }

private:
  // Takes the nodes a state router reached and the partitions' calls each
  // executor ran into the executor table.
  void counted(const state_call_report& report) {
    for (const auto& x : report.nodes)
      watch_.reached(x.address, x.actor, x.slots);
    for (const auto& [id, n] : report.tasks) {
      executors_.completed(id, static_cast<size_t>(n.completed));
      executors_.failed(id, static_cast<size_t>(n.failed));
    }
  }

  // Runs tasks `[0, n)` here or on the operator workers; `ended` counts
  // the tasks that returned or threw (a task that throws here ends the
  // stage; on the workers, every task runs).
  void run_here_or_spread(size_t n, detail::function_ref<void(size_t)> task,
                          size_t& ended) {
    using std::chrono::steady_clock;
    auto stage = placement_.next_stage();
    auto start = steady_clock::now();
    // Tasks that must go through bytes (`stream.serialize-messages`) go to
    // the spreader.
    auto left = n;
    if (!opts_.serialize_messages
        && (workers_.empty() || placement_.in_place(stage))) {
      while (left > 0) {
        ++ended;
        task(--left);
        if (!workers_.empty()
            && placement_.over_bound(steady_clock::now() - start))
          break;
      }
    }
    if (left > 0) {
      ended += left;
      spreader_.run(left, task, batch_time_);
    }
    placement_.took(stage, steady_clock::now() - start);
  }

  // Below this, a stage costs less in place than a worker's wake-up: an
  // empty batch through a 5-operator graph took 59-64 us with its stages in
  // place against 75-104 us spread over 2 workers (`harness
  // --workloads=grep --no-tcp --repeats=1 --lines=1000 --workers=1|2`).
  static constexpr auto in_place_bound = std::chrono::microseconds(30);

  caf::blocking_actor* self_;
  const std::vector<caf::actor>& workers_;
  const detail::dstream_graph& graph_;
  const stream_options& opts_;
  const caf::actor& nodes_;
  time batch_time_;
  // One per state stream, by state id, spawned on its first call.
  std::map<int32_t, caf::actor> routers_;
  std::map<int32_t, int64_t> state_keys_;
  task_spreader spreader_;
  stage_placement placement_;
  // The driver, and the worker nodes that ran tasks or hold state, watched.
  executor_table executors_;
  node_watch watch_;
  // With `stream.task.placement = workers`.
  std::optional<node_map_stages> on_nodes_;
};

/// Runs one batch after the other on its own thread, where the graph's
/// generated RDDs live (Spark's job executor thread); the job scheduler
/// hands it the batches.
class job_executor final : public caf::blocking_actor {
public:
  job_executor(caf::actor_config& cfg, std::vector<caf::actor> workers,
               std::shared_ptr<detail::dstream_graph> graph,
               std::shared_ptr<caf_stream::clock> clk,
               std::shared_ptr<runtime_state> state, caf::actor listener_bus,
               caf::actor checkpoint_writer, stream_options opts,
               std::shared_ptr<stage_table> stages, caf::actor nodes)
    : caf::blocking_actor(cfg),
      listener_bus_(std::move(listener_bus)),
      checkpoint_writer_(std::move(checkpoint_writer)),
      opts_(std::move(opts)),
      workers_(std::move(workers)),
      graph_(std::move(graph)),
      clk_(std::move(clk)),
      state_(std::move(state)),
      nodes_(std::move(nodes)),
      log_(detail::logger("executor")) {
    if (!stages)
      stages = std::make_shared<stage_table>(
        stage_table::graph_id(graph_->fingerprint()));
    stages_ = std::move(stages);
  }

  void act() override {
    worker_task_runner runner{this, workers_, *graph_, opts_, *stages_,
                              nodes_};
    scoped_runner installed{*graph_->context(), runner};
    runner_ = &runner;
    report_executors();
    bool running = true;
    receive_while(running)(
      [&](job_set& js) { return run(js); },
      // Between batches: a node given up on as late answers after all.
      [&](map_done_atom, uint64_t id, std::vector<uint64_t>&,
          std::vector<uint64_t>&) {
        runner.late_answer(id, caf::actor_cast<caf::actor>(current_sender()));
      },
      [&](map_done_atom, uint64_t id, std::vector<std::string>&) {
        runner.late_answer(id, caf::actor_cast<caf::actor>(current_sender()));
      },
      // A stage's wake-up that comes after the stage ended.
      [&](deadline_atom, uint64_t) {},
      [&](stop_atom, bool graceful) {
        if (graceful && last_completed_)
          write_checkpoint(*last_completed_, true);
        running = false;
        return true;
      },
      [&](caf::exit_msg& msg) {
        if (msg.reason != caf::exit_reason::normal)
          running = false;
      });
  }

  const char* name() const override {
    return "caf_stream.job_executor";
  }

private:
  // Runs batch `js`; one that comes while the runtime stops is skipped: its
  // figures say it never started.
  batch_info run(job_set& js) {
    if (state_->stopping()) {
      batch_info skipped;
      skipped.batch_time = js.batch_time;
      return skipped;
    }
    runner_->set_batch(js);
    kept_.add(js.batch_time, js.blocks);
    auto info = js.info(graph_->batch_interval());
    info.processing_start_time = clk_->now();
    if (state_->has_listeners()) {
      listener_event event;
      event.what = listener_event::kind::batch_started;
      event.info = info;
      send(listener_bus_, std::move(event));
    }
    graph_->bind_received(js.batch_time, std::move(js.blocks));
    graph_->bind_generated(js.batch_time, std::move(js.inputs));
    for (auto& j : js.jobs) {
      auto op = run_output_operation(
        j, [&] { run_job(js, j); }, *clk_,
        [&](const output_operation_info& started) {
          tell_listeners(listener_event::kind::output_operation_started,
                         started);
        });
      tell_listeners(listener_event::kind::output_operation_completed, op);
      if (op.failure_reason) {
        auto what = "job " + std::to_string(j.output_id) + " of batch "
                    + to_string(js.batch_time) + " failed: " + *op.failure_reason;
        log_->error("{}", what);
        if (!info.failure_reason)
          info.failure_reason = std::move(what);
      }
      info.output_operations.push_back(std::move(op));
    }
    info.processing_end_time = clk_->now();
    info.state_keys = runner_->state_keys();
    info.tasks = runner_->executors().take_tasks();
    report_executors();
    if (!info.failure_reason) {
      write_checkpoint(js.batch_time,
                       graph_->data_checkpoint_due(js.batch_time));
      last_completed_ = js.batch_time;
    }
    graph_->clear_metadata(js.batch_time);
    release_kept_blocks(js.batch_time);
    log_->debug("batch {} done: {} records, {} ms", to_string(js.batch_time),
                info.num_records, info.processing_delay()->count());
    return info;
  }

  // Tells the listeners, if any, that output operation `op` started or
  // completed.
  void tell_listeners(listener_event::kind what,
                      const output_operation_info& op) {
    if (!state_->has_listeners())
      return;
    listener_event event;
    event.what = what;
    event.output = op;
    send(listener_bus_, std::move(event));
  }

  // Tells the listeners of the executors added and removed since the last
  // call.
  void report_executors() {
    runner_->note_lost_nodes();
    auto changes = runner_->executors().take_changes(clk_->now());
    if (!state_->has_listeners())
      return;
    for (auto& x : changes) {
      listener_event event;
      event.what = x.active ? listener_event::kind::executor_added
                            : listener_event::kind::executor_removed;
      event.executor = std::move(x);
      send(listener_bus_, std::move(event));
    }
  }

  // Lets the worker nodes forget the blocks they keep of the batches up to
  // `t`, but those the receiver streams remember (windows reach back).
  void release_kept_blocks(time t) {
    for (auto& r : kept_.take_until(t - graph_->received_blocks_kept_for()))
      send(r.holder->node, release_blocks_atom::value, std::move(r.ids));
  }

  void run_job(const job_set& js, const job& j) {
    if (!js.failure.empty())
      throw stream_error(errc::source_failure, js.failure);
    graph_->run_job(j);
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
  stream_options opts_;
  std::vector<caf::actor> workers_;
  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<caf_stream::clock> clk_;
  std::shared_ptr<runtime_state> state_;
  std::shared_ptr<stage_table> stages_;
  // The node directory (null: the state nodes are `stream.nodes`).
  caf::actor nodes_;
  worker_task_runner* runner_ = nullptr;
  // The blocks worker nodes keep for the batches run here.
  remote_blocks kept_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<time> last_completed_;
};

} // namespace

caf::actor spawn_job_executor(caf::actor_system& sys,
                              std::vector<caf::actor> workers,
                              std::shared_ptr<detail::dstream_graph> graph,
                              std::shared_ptr<caf_stream::clock> clk,
                              std::shared_ptr<runtime_state> state,
                              caf::actor listener_bus,
                              caf::actor checkpoint_writer,
                              stream_options opts,
                              std::shared_ptr<stage_table> stages,
                              caf::actor nodes) {
  return sys.spawn<job_executor, caf::detached>(
    std::move(workers), std::move(graph), std::move(clk), std::move(state),
    std::move(listener_bus), std::move(checkpoint_writer), std::move(opts),
    std::move(stages), std::move(nodes));
}

} // namespace caf_stream::actors
