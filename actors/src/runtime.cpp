#include "caf_stream/actors/checkpoint_writer.hpp"
#include "caf_stream/actors/job_generator.hpp"
#include "caf_stream/actors/job_scheduler.hpp"
#include "caf_stream/actors/listener_bus.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/rate_controller.hpp"
#include "caf_stream/actors/receiver_placer.hpp"
#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/worker_node.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"

namespace caf_stream::actors {

// -- runtime_state ------------------------------------------------------------

void runtime_state::add_listener(std::shared_ptr<streaming_listener> x) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.push_back(std::move(x));
  has_listeners_.store(true, std::memory_order_release);
}

void runtime_state::remove_listener(
  const std::shared_ptr<streaming_listener>& x) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), x),
                   listeners_.end());
  has_listeners_.store(!listeners_.empty(), std::memory_order_release);
}

std::vector<std::shared_ptr<streaming_listener>>
runtime_state::listeners() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return listeners_;
}

void runtime_state::batch_generated(time t) {
  std::lock_guard<std::mutex> guard{mtx_};
  pending_.insert(t);
}

std::vector<time> runtime_state::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {pending_.begin(), pending_.end()};
}

void runtime_state::batch_completed(const batch_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  pending_.erase(info.batch_time);
  last_completed_ = info.batch_time;
  if (info.failure_reason && !failure_)
    failure_ = info.failure_reason;
  cv_.notify_all();
}

void runtime_state::terminate() {
  std::lock_guard<std::mutex> guard{mtx_};
  terminated_ = true;
  cv_.notify_all();
}

bool runtime_state::await(
  std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto done = [&] { return terminated_ || failure_.has_value(); };
  if (!deadline) {
    cv_.wait(guard, done);
    return true;
  }
  return cv_.wait_until(guard, *deadline, done);
}

bool runtime_state::await_batch(time t, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] {
    return last_completed_ && *last_completed_ >= t;
  });
}

bool runtime_state::await_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] { return pending_.empty(); });
}

std::optional<std::string> runtime_state::failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failure_;
}

bool runtime_state::stopping() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stopping_;
}

void runtime_state::set_stopping() {
  std::lock_guard<std::mutex> guard{mtx_};
  stopping_ = true;
}

// -- runtime ------------------------------------------------------------------

namespace {

// How many checkpoints of each kind stay on disk.
constexpr size_t keep_checkpoints = 10;

} // namespace

struct runtime::impl {
  caf::actor_system& sys;
  std::shared_ptr<detail::dstream_graph> graph;
  std::shared_ptr<clock> clk;
  stream_options opts;
  std::shared_ptr<runtime_state> state;
  std::shared_ptr<spdlog::logger> log = detail::logger("context");
  std::vector<caf::actor> workers;
  std::vector<caf::actor> supervisors;
  std::vector<caf::actor> block_generators;
  std::vector<caf::actor> rate_controllers;
  std::vector<caf::actor> rate_targets;
  caf::actor tracker;
  caf::actor scheduler;
  caf::actor generator;
  caf::actor listener_bus;
  caf::actor checkpoint_writer;
  // The node directory when work may go to worker nodes, and the port on
  // which it lets nodes join (0: none).
  caf::actor nodes;
  uint16_t driver_port = 0;
  bool running = false;

  impl(caf::actor_system& sys, std::shared_ptr<detail::dstream_graph> graph,
       std::shared_ptr<clock> clk, stream_options opts,
       std::shared_ptr<runtime_state> state)
    : sys(sys),
      graph(std::move(graph)),
      clk(std::move(clk)),
      opts(std::move(opts)),
      state(std::move(state)) {
    // nop
  }

  // Asks `x` to finish what it was sent so far (`drain_atom`): its count of
  // what went wrong, or none if it did not answer within `timeout`.
  template <class Timeout>
  std::optional<uint64_t> drain(const caf::actor& x, Timeout timeout) {
    caf::scoped_actor self{sys};
    std::optional<uint64_t> result;
    self->request(x, timeout, drain_atom::value)
      .receive([&](uint64_t n) { result = n; }, [](caf::error&) {});
    return result;
  }

  // Spawns the node directory and, with `stream.driver-port`, publishes it
  // for worker nodes to join.
  void start_node_directory() {
    nodes = spawn_node_directory(sys, opts.state_nodes, graph->fingerprint(),
                                 program_id(opts));
    if (opts.driver_port == 0)
      return;
    if (!sys.has_middleman()) {
      caf::anon_send_exit(nodes, caf::exit_reason::user_shutdown);
      throw stream_error(errc::invalid_config,
                         "stream.driver-port is set, but the actor system has "
                         "no middleman: load caf::io::middleman in its "
                         "configuration");
    }
    auto bound = publish_node(sys, nodes, opts.driver_port,
                              opts.driver_bind_address);
    if (!bound) {
      caf::anon_send_exit(nodes, caf::exit_reason::user_shutdown);
      throw stream_error(errc::invalid_config,
                         "stream.driver-port: cannot listen on "
                           + opts.driver_bind_address + ":"
                           + std::to_string(opts.driver_port) + ": "
                           + sys.render(bound.error()));
    }
    driver_port = *bound;
    log->info("worker nodes may join at {}:{}{}", opts.driver_bind_address,
              *bound, nodes_use_tls(sys) ? " over TLS" : "");
  }

  // Sends `exit` to each actor and waits until all of them are gone.
  void take_down(std::vector<caf::actor> xs) {
    caf::scoped_actor self{sys};
    size_t alive = 0;
    for (auto& x : xs) {
      if (!x)
        continue;
      self->monitor(x);
      self->send_exit(x, caf::exit_reason::user_shutdown);
      ++alive;
    }
    for (size_t i = 0; i < alive; ++i)
      self->receive([](const caf::down_msg&) {});
  }
};

runtime::runtime(caf::actor_system& sys,
                 std::shared_ptr<detail::dstream_graph> graph,
                 std::shared_ptr<clock> clk, stream_options opts,
                 std::shared_ptr<runtime_state> state)
  : impl_(std::make_unique<impl>(sys, std::move(graph), std::move(clk),
                                 std::move(opts), std::move(state))) {
  // nop
}

runtime::~runtime() {
  stop(false);
}

void runtime::start(time first_batch, tracked_blocks blocks) {
  auto& d = *impl_;
  if (d.opts.with_nodes())
    d.start_node_directory();
  // The stages running on this node, for the tasks that come as bytes.
  auto stages = std::make_shared<stage_table>(
    stage_table::graph_id(d.graph->fingerprint()));
  // The job executor is one task slot, as a worker node's task host is;
  // the operator workers are the others (`stream.workers` tasks at once,
  // as Spark's local[N]).
  for (size_t i = 1; i < d.opts.workers; ++i)
    d.workers.push_back(spawn_operator_worker(d.sys, stages));
  auto wal = blocks.log;
  d.listener_bus = spawn_listener_bus(d.sys, d.state,
                                      d.opts.listener_bus_capacity);
  if (d.state->has_listeners()) {
    // Before any receiver's or batch's event (Spark's StreamingStarted).
    listener_event started;
    started.what = listener_event::kind::streaming_started;
    started.started_at = d.clk->now();
    caf::anon_send(d.listener_bus, std::move(started));
  }
  // A frozen node's seal holds up a batch for one batch interval at most.
  d.tracker = spawn_receiver_tracker(d.sys, std::move(blocks), d.clk,
                                     d.graph->batch_interval());
  std::map<int32_t, caf::actor> rate_controllers;
  // Backpressure: a controller per stream, sending its estimates to
  // `target` (a receiver's supervisor or an input's rate target).
  auto add_rate_controller = [&](int32_t stream_id, caf::actor target) {
    auto ctl = spawn_rate_controller(
      d.sys, stream_id, std::move(target),
      pid_rate_estimator{d.graph->batch_interval().count(),
                         d.opts.pid_proportional, d.opts.pid_integral,
                         d.opts.pid_derived, d.opts.pid_min_rate},
      d.opts.backpressure_initial_rate > 0);
    rate_controllers.emplace(stream_id, ctl);
    d.rate_controllers.push_back(ctl);
  };
  // A receiver on a worker node has a placer that stands in for its
  // supervisor (and starts it elsewhere when its node is lost).
  auto on_workers = d.opts.receivers_on_workers();
  for (auto& in : d.graph->receiver_inputs()) {
    std::shared_ptr<receiver_base> rcv{in->take_receiver()};
    caf::actor sup;
    if (on_workers) {
      sup = spawn_receiver_placer(d.sys, in, std::move(rcv), d.clk, d.opts,
                                  d.graph->fingerprint(), d.tracker,
                                  d.listener_bus, d.state, d.nodes);
    } else {
      if (wal)
        in->buffer()->attach_log(wal);
      auto started = start_receiver(d.sys, *in, std::move(rcv), d.clk, d.opts,
                                    d.tracker, d.listener_bus, d.state,
                                    driver_location);
      d.block_generators.push_back(std::move(started.generator));
      sup = std::move(started.supervisor);
    }
    if (d.opts.backpressure_enabled)
      add_rate_controller(in->stream_id(), sup);
    d.supervisors.push_back(sup);
  }
  if (d.opts.backpressure_enabled)
    for (auto& in : d.graph->rate_controlled_inputs()) {
      auto target = spawn_rate_target(d.sys, in);
      d.rate_targets.push_back(target);
      add_rate_controller(in->stream_id(), std::move(target));
    }
  if (!d.graph->checkpoint_directory().empty()) {
    std::function<void(const detail::checkpoint_record&)> written;
    if (wal) {
      // Recovery from a record re-reads the blocks of the batches after its
      // state, and those the receiver streams still remember before it.
      auto keep = d.graph->received_blocks_kept_for();
      written = [wal, keep](const detail::checkpoint_record& x) {
        wal->clean(time{x.data_time_ms} - keep);
      };
    }
    d.checkpoint_writer = spawn_checkpoint_writer(
      d.sys, d.graph->checkpoint_directory(), keep_checkpoints,
      d.listener_bus, d.state, std::move(written));
  }
  d.scheduler = spawn_job_scheduler(d.sys, d.workers, d.graph, d.clk, d.state,
                                    d.listener_bus, d.checkpoint_writer,
                                    std::move(rate_controllers), d.opts,
                                    std::move(stages), d.nodes);
  d.generator = spawn_job_generator(d.sys, d.graph, d.clk, d.tracker,
                                    d.scheduler, d.listener_bus,
                                    d.rate_controllers, d.state, first_batch);
  d.running = true;
  d.log->debug("started: batch interval {} ms, {} task slots, {} receivers",
              d.graph->batch_interval().count(), d.workers.size() + 1,
              d.supervisors.size());
}

void runtime::stop(bool graceful) {
  auto& d = *impl_;
  if (!d.running)
    return;
  d.running = false;
  {
    caf::scoped_actor self{d.sys};
    for (auto& sup : d.supervisors)
      self->request(sup, caf::infinite, stop_atom::value,
                    std::string{"the streaming context stops"})
        .receive([] {}, [](caf::error&) {});
  }
  // The graceful stop's wait, if it ran out.
  std::optional<duration> timed_out;
  if (graceful) {
    // Wait (at most `stream.graceful-stop-timeout`, Spark's
    // gracefulStopTimeout, in all) for the batches already generated and,
    // with receivers, for the next one: the receiver tracker seals
    // everything received so far into it.
    auto interval = d.graph->batch_interval();
    auto timeout = d.opts.graceful_stop_wait(interval);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
      return std::max(duration{0},
                      std::chrono::duration_cast<duration>(
                        deadline - std::chrono::steady_clock::now()));
    };
    auto last = d.clk->now().next_on_grid(interval);
    if (!d.supervisors.empty() && !d.state->await_batch(last, left()))
      d.log->warn("graceful stop: batch {} did not complete in time",
                  to_string(last));
    if (!d.state->await_idle(left()))
      timed_out = timeout;
  }
  // From here no batch starts: the pending ones are skipped.
  d.state->set_stopping();
  if (timed_out)
    d.log->warn("graceful stop: batches still pending after {} "
                "(stream.graceful-stop-timeout)",
                to_string(*timed_out));
  // A batch being generated may wait on the outside world (a direct Kafka
  // stream's unreachable brokers): it gives up rather than hold the stop.
  d.graph->interrupt_inputs();
  d.take_down({d.generator});
  {
    // The scheduler finishes the batch it runs (its tasks need the workers)
    // and skips the queued ones.
    caf::scoped_actor self{d.sys};
    self->monitor(d.scheduler);
    // After a graceful stop the scheduler writes a final data checkpoint.
    self->send(d.scheduler, stop_atom::value, graceful);
    self->receive([](const caf::down_msg&) {});
  }
  // The checkpoints of the batches that ran (and a graceful stop's last one)
  // are on disk before stop returns.
  std::string last_checkpoint_failure;
  if (d.checkpoint_writer) {
    caf::scoped_actor self{d.sys};
    self->request(d.checkpoint_writer, caf::infinite, drain_atom::value)
      .receive(
        [&](uint64_t failed, std::string& last) {
          if (failed > 0)
            d.log->warn("{} checkpoints could not be written (see the "
                        "errors above)",
                        failed);
          last_checkpoint_failure = std::move(last);
        },
        [](caf::error&) {});
  }
  // Listeners hear of every batch that ran before the context stops, as far
  // as a listener that hangs lets them (Spark's bus drains on stop).
  auto timeout = std::max(std::chrono::milliseconds{10'000},
                          std::chrono::milliseconds{
                            d.graph->batch_interval() * 10});
  if (auto dropped = d.drain(d.listener_bus, timeout); !dropped)
    d.log->warn("stopping: listeners still busy after {}; the events not "
                "delivered yet are dropped",
                to_string(duration{timeout.count()}));
  else if (*dropped > 0)
    d.log->warn("listeners missed {} events: they were slower than the "
                "batches (stream.listener-bus.capacity)",
                *dropped);
  auto rest = d.workers;
  rest.insert(rest.end(), d.block_generators.begin(),
              d.block_generators.end());
  rest.insert(rest.end(), d.supervisors.begin(), d.supervisors.end());
  rest.insert(rest.end(), d.rate_controllers.begin(),
              d.rate_controllers.end());
  rest.insert(rest.end(), d.rate_targets.begin(), d.rate_targets.end());
  rest.push_back(d.tracker);
  rest.push_back(d.listener_bus);
  rest.push_back(d.checkpoint_writer);
  if (d.driver_port != 0)
    if (auto closed = close_node_port(d.sys, d.driver_port); !closed)
      d.log->warn("stopping: stream.driver-port {} stays open: {}",
                  d.driver_port, d.sys.render(closed.error()));
  rest.push_back(d.nodes);
  d.take_down(std::move(rest));
  d.state->terminate();
  d.log->debug("stopped");
  // A graceful stop promises a checkpoint to resume from.
  if (graceful && !last_checkpoint_failure.empty())
    throw stream_error(errc::bad_checkpoint,
                       "the final " + last_checkpoint_failure);
}

} // namespace caf_stream::actors
