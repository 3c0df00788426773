#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/receiver/receiver.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"
#include "caf_stream/scheduler/pid_rate_estimator.hpp"

/// Factories of the runtime's actors. Each actor's protocol is documented
/// above its factory; the definitions live in `actors/src/<name>.cpp`.
namespace caf_stream::actors {

class runtime_state;
class stage_table;

/// Operator worker: runs tasks.
/// - `(run_task_atom, task_ref)`: claims the task and runs it, keeping the
///   first exception in the task's stage, then sends the sender
///   `(task_done_atom, stage id)`; does nothing if the task was claimed
///   already (by the job executor). A task read back from bytes finds its
///   stage in `stages` by name; without `stages`, or once the stage ended,
///   it is not run here (the job executor claims it).
caf::actor spawn_operator_worker(caf::actor_system& sys,
                                 std::shared_ptr<stage_table> stages = nullptr);

/// State holder: owns one partition of one state stream's state
/// (`update_state_by_key`, `map_with_state`, `reduce_by_key_and_window`
/// with an inverse function), made by `op`, and is the only
/// one to touch it. Spawned by the stream's router when the stream first
/// runs, on this node or by a state node; quits when `driver` (the router)
/// goes down.
/// - `(state_atom, uint8_t state_call, time, block)` -> `(block, int64_t)`:
///   runs the operator's call on the partition and answers its output and
///   the keys the partition holds now; a failure (a user function threw,
///   undecodable records) comes back as an error with the message. An
///   update for the batch it applied last gives that batch's output (or
///   error) again and leaves the state alone.
caf::actor spawn_state_holder(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              caf::actor driver);

/// State router of one state stream (`op`), detached: routes the stream's
/// calls to the holders of its partitions, spawning them on first use on
/// this node or, with worker nodes (`nodes`, the node directory, else
/// `opts.state_nodes`), partition `i` on node `i % n` of those at the time
/// (or the next one that takes it, asked for a holder of the state
/// stream of the graph with `graph_fingerprint` in the program
/// `program_id(opts)`), else on this node. With state nodes it keeps each
/// partition's calls since its state was last saved
/// (`state_partition_log`; past `opts.state_log_limit` records it asks the
/// holder for its state and keeps that instead): when a holder goes down or
/// does not answer within `opts.state_timeout`, a new one on its node, on
/// the next node that takes it, or on this node gets them again, then the
/// call that was lost. A partition this node took over moves back to a
/// state node when its state is next saved.
/// - `(state_atom, uint8_t state_call, time, block_list)` ->
///   `(block_list, int64_t)`: partition `i` gets element `i`; the outputs
///   come back in partition order with the keys the partitions hold in all,
///   or an `errc` error naming the first partition that failed;
/// - quits on an exit message or when `driver` (the job scheduler) goes
///   down; its holders go with it.
caf::actor spawn_state_router(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              std::string graph_fingerprint,
                              stream_options opts, caf::actor driver,
                              caf::actor nodes = {});

/// Holder proxy: stands in on the driver for `holder`, a holder on a state
/// node. Passes the calls on (bounded by `timeout`); when the holder goes
/// down (its node died, the connection broke), fails the calls in flight at
/// once with `sec::request_receiver_down` instead of letting them wait for
/// the timeout, and quits with the holder's reason. When the proxy quits,
/// so does the holder.
/// - `(state_atom, uint8_t state_call, time, block)` -> `(block, int64_t)`:
///   the holder's answer, or an error.
caf::actor spawn_holder_proxy(caf::actor_system& sys, caf::actor holder,
                              duration timeout);

/// Worker node: serves the state streams and the receivers of `graph`
/// (built by the same program as the driver's, `program`: see
/// `program_id`) to drivers whose `stream.nodes` name it, with its own
/// clock `clk` and settings `opts` (`stream.receiver.*`). Published by
/// `streaming_context::serve`.
/// - `(spawn_holder_atom, graph fingerprint, program, state id, signature)`
///   -> `actor`: spawns a holder for that state stream (the holders go down
///   with the node); an error if the driver runs another program or graph;
/// - `(start_receiver_atom, graph fingerprint, program, stream id, tracker,
///   listener bus, replication, location)` -> `actor`: starts the receiver
///   of that receiver stream here (`start_receiver` at `location`, this
///   node's address as the driver names it, with the driver's
///   `stream.receiver.replication`) for the driver's `tracker` and
///   answers its supervisor, which the node stops when the driver goes
///   down (asked again by the same driver, it answers the same supervisor);
///   an error if the driver runs another program or graph, or if the
///   receiver runs here for another driver;
/// - `(stop_atom)` -> `void`: a graceful stop: takes no more work, stops
///   the receivers running here, hands the blocks they stored to their
///   drivers' trackers (5 s at most per step) and answers once their
///   supervisors are down.
caf::actor spawn_state_node(caf::actor_system& sys,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::string program, std::shared_ptr<clock> clk,
                            stream_options opts);

/// What a node checks, besides the graph, before it serves a driver:
/// "app " and `stream.app-id` if set, else "build " and the executable's
/// build id, so that a node refuses another program with the same graph.
std::string program_id(const stream_options& opts);

/// Block generator of one receiver: seals the receiver's buffer into blocks.
/// On a worker node (`on_worker`) the blocks leave the buffer's queue
/// (`stream.block-queue-size`) as they leave for the driver's tracker;
/// otherwise when a batch gets them.
/// - timer (system clock only), every block interval: seals and sends
///   `(blocks_atom, block_list)` to the tracker;
/// - `(seal_atom)` -> `block_list`: seals now and returns the blocks.
caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval,
                                 bool on_worker = false);

/// What a receiver tracker starts with: the receiver write-ahead log, and
/// what recovery read back from it.
struct tracked_blocks {
  /// Where allocations are logged (null: the log is off).
  std::shared_ptr<detail::received_block_log> log;
  /// Batches that run again, with the blocks they had before the crash.
  std::map<time, std::vector<block>> batches;
  /// Blocks that no batch got before the crash.
  std::vector<block> unallocated;
};

/// Receiver tracker (Spark's ReceivedBlockTracker): keeps unallocated blocks.
/// - `(register_atom, actor)`: adds a block generator, until it goes down
///   (its worker node was lost);
/// - `(blocks_atom, block_list)`: adds sealed blocks;
/// - `(allocate_atom, time)` -> `block_list`: seals every block generator
///   and returns (allocates to the batch) every unallocated block, after
///   logging the allocation; a batch that runs again after a recovery gets
///   the blocks it had before. Fails (errc::source_failure) if the log
///   cannot be written: the blocks stay for the next batch. A generator on
///   another node that has not answered by `clk`'s batch time +
///   `seal_bound` (a frozen node) holds up the batch no longer: its blocks
///   go to the batch after its answer (none without `clk`);
/// - `(seal_late_atom, uint64_t seal)`: seal `seal`'s bound passed.
caf::actor spawn_receiver_tracker(caf::actor_system& sys,
                                  tracked_blocks init = {},
                                  std::shared_ptr<clock> clk = nullptr,
                                  duration seal_bound = duration{0});

/// Receiver supervisor (Spark's ReceiverSupervisor), detached: runs one
/// receiver's `on_start`/`on_stop`, and tells `listener_bus` (while
/// `runtime` has listeners; always without `runtime`, on a worker node) what
/// happens to it as receiver events of the stream `name` running at
/// `location` ("driver", or a worker node's "host:port").
/// - `(start_atom)`: starts the receiver; if `on_start` throws, restarts it;
/// - `(restart_atom, message, delay ms)`: stops it, starts it after the delay
///   (negative: the configured restart delay);
/// - `(stop_atom, message)` -> `unit`: stops it for good;
/// - `(error_atom, message)`: logs a receiver's error report;
/// - `(rate_atom, double)`: holds the receiver's `store` calls to a rate
///   controller's rate (records per second) and tells the receiver
///   (`receiver_base::update_rate`);
/// - on exit: stops the receiver.
caf::actor spawn_receiver_supervisor(caf::actor_system& sys,
                                     std::shared_ptr<receiver_base> rcv,
                                     std::shared_ptr<clock> clk,
                                     duration restart_delay,
                                     int32_t stream_id, std::string name,
                                     std::string location,
                                     caf::actor listener_bus,
                                     std::shared_ptr<runtime_state> runtime);

/// The location of a receiver that runs on the driver
/// (`receiver_info::location`).
inline constexpr const char* driver_location = "driver";

/// The actors that run one receiver on the node where it was placed.
struct receiver_actors {
  caf::actor supervisor;
  caf::actor generator;
};

/// Starts receiver `rcv` of the receiver stream `in` on this node, the
/// driver (`location` is `driver_location`) or a worker node (the node's "host:port" as
/// the driver names it, for the driver's `tracker` and `listener_bus`):
/// holds `in`'s buffer to `opts`' rate and queue, spawns
/// its block generator, which registers with `tracker` and sends it the
/// blocks, and its supervisor (`spawn_receiver_supervisor`), then starts
/// the receiver. On a worker with `opts.receiver_replication` 2, a block
/// that `store` hands over whole goes to the tracker before `store` returns
/// (waiting at most `opts.state_timeout`).
receiver_actors start_receiver(caf::actor_system& sys,
                               detail::receiver_input_base& in,
                               std::shared_ptr<receiver_base> rcv,
                               std::shared_ptr<clock> clk,
                               const stream_options& opts, caf::actor tracker,
                               caf::actor listener_bus,
                               std::shared_ptr<runtime_state> runtime,
                               const std::string& location);

/// Receiver placer of one receiver stream (the receiver scheduling of
/// Spark's ReceiverTracker), detached: runs the stream's receiver on a
/// worker node (`nodes`, the node directory, else `opts.state_nodes`; stream
/// `k` first on node `k % n` of those at the time, then
/// on the next one that takes it; asked for the receiver of the graph with
/// `graph_fingerprint` in the program `program_id(opts)`), else on this
/// node (`rcv`, this node's receiver of `in`; always for a receiver that is
/// `driver_only` or whose records cannot leave the node). When the
/// receiver's node is lost (its supervisor goes down), starts it again on
/// the next node or on this node. Stands in for the receiver's
/// supervisor:
/// - `(rate_atom, double)`: passed on to the supervisor;
/// - `(stop_atom, message)` -> `unit`: stops the receiver for good (waiting
///   at most `opts.state_timeout` for a worker node);
/// - on exit: stops the receiver.
caf::actor spawn_receiver_placer(caf::actor_system& sys,
                                 std::shared_ptr<detail::receiver_input_base> in,
                                 std::shared_ptr<receiver_base> rcv,
                                 std::shared_ptr<clock> clk,
                                 stream_options opts,
                                 std::string graph_fingerprint,
                                 caf::actor tracker, caf::actor listener_bus,
                                 std::shared_ptr<runtime_state> runtime,
                                 caf::actor nodes = {});

/// Rate controller of one receiver stream (Spark's RateController, for
/// backpressure): estimates the rate the pipeline keeps up with from each
/// completed batch and sends it to the stream's receiver supervisor (as
/// Spark's controller goes through the ReceiverTracker to the supervisor),
/// or, for a stream without a receiver, to its rate target.
/// - `(batch_done_atom, time ms, records, processing ms, scheduling ms)`:
///   feeds the PID estimator; a new estimate goes out as `(rate_atom, rate)`;
/// - `batch_waiting_atom`: a batch was generated while an earlier one had not
///   completed. Before the first estimate, and unless the stream started at
///   an initial rate, the stream gets the estimator's minimum rate until the
///   first estimate arrives.
caf::actor spawn_rate_controller(caf::actor_system& sys, int32_t stream_id,
                                 caf::actor receiver,
                                 pid_rate_estimator estimator,
                                 bool initial_rate_set);

/// Rate target of a stream without a receiver (the direct Kafka stream:
/// Spark's DirectKafkaRateController): applies its rate controller's
/// estimates to the input.
/// - `(rate_atom, double)`: `input->update_rate(rate)`.
caf::actor
spawn_rate_target(caf::actor_system& sys,
                  std::shared_ptr<detail::rate_controlled_input> input);

/// Job executor (Spark's job executor thread), detached: runs one batch
/// after the other where the graph's generated RDDs live, spreading the
/// tasks of its jobs over the workers and sending the state streams' calls
/// to their routers (spawned on first use). Spawned by the job scheduler.
/// Registers each stage in `stages` (a table of its own if null) while it
/// runs, so that workers can find it by name. The routers place state on
/// the worker nodes of `nodes` (the node directory; null: `stream.nodes`).
/// - `job_set` -> `batch_info`: tells `listener_bus` (batch started; the
///   scheduler, which passes it on after its answer for the batch before),
///   gives the receiver streams the batch's blocks, runs its jobs, makes a
///   checkpoint if there is a `checkpoint_writer` (with the state when it is
///   due) and sends it there, and answers the batch's figures; while the
///   runtime stops, answers at once with figures that have no processing
///   start (the batch is skipped);
/// - `(stop_atom, graceful)` -> `bool`: ends; when `graceful`, first writes
///   a checkpoint with the state of the last batch that completed.
caf::actor spawn_job_executor(caf::actor_system& sys,
                              std::vector<caf::actor> workers,
                              std::shared_ptr<detail::dstream_graph> graph,
                              std::shared_ptr<clock> clk,
                              std::shared_ptr<runtime_state> state,
                              caf::actor listener_bus,
                              caf::actor checkpoint_writer,
                              stream_options opts,
                              std::shared_ptr<stage_table> stages = nullptr,
                              caf::actor nodes = {});

/// Job scheduler (Spark's JobScheduler), event-based: hands the batches to
/// its job executor (spawned with it, from the same arguments), which runs
/// them one at a time in order, and reports each completed batch to the
/// listener bus (`listener_event`s), the rate controllers (by receiver
/// stream id) and the runtime state.
/// - `job_set` -> `time`: answers the batch's time once it completed (or
///   was skipped while stopping);
/// - `(stop_atom, graceful)`: ends with its executor once the batch that
///   runs completed and the others were skipped; when `graceful`, the
///   executor first writes a checkpoint with the state.
caf::actor spawn_job_scheduler(caf::actor_system& sys,
                               std::vector<caf::actor> workers,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<clock> clk,
                               std::shared_ptr<runtime_state> state,
                               caf::actor listener_bus,
                               caf::actor checkpoint_writer,
                               std::map<int32_t, caf::actor> rate_controllers,
                               stream_options opts,
                               std::shared_ptr<stage_table> stages = nullptr,
                               caf::actor nodes = {});

/// Job generator (Spark's JobGenerator): cuts a batch at every point of the
/// batch grid.
/// - `(tick_batch_atom, time)`: allocates received blocks to the batch,
///   fixes the inputs, generates the jobs, tells the listener bus
///   (batch submitted), sends the `job_set` to the scheduler and arms the
///   timer for the next batch. Batches whose time passed already (recovery)
///   are cut at once, one after the other. When
///   the batch has to wait for an earlier one (the scheduler has not
///   answered an earlier `job_set` yet), tells the rate controllers
///   (`batch_waiting_atom`).
caf::actor spawn_job_generator(caf::actor_system& sys,
                               std::shared_ptr<detail::dstream_graph> graph,
                               std::shared_ptr<clock> clk, caf::actor tracker,
                               caf::actor scheduler, caf::actor listener_bus,
                               std::vector<caf::actor> rate_controllers,
                               std::shared_ptr<runtime_state> state,
                               time first_batch);

} // namespace caf_stream::actors
