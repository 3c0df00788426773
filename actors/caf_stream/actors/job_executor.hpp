#pragma once

#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

class runtime_state;
class stage_table;

/// Job executor (Spark's job executor thread), detached: runs one batch
/// after the other where the graph's generated RDDs live, spreading the
/// tasks of its jobs over the workers and itself (`workers.size() + 1` task
/// slots) and sending the state streams' calls to their routers (spawned on
/// first use). Spawned by the job scheduler.
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

} // namespace caf_stream::actors
