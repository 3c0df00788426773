#pragma once

#include <cstddef>
#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Task host: runs the map tasks that drivers send to this worker node
/// against the node's own copy of the graph (which the same program built),
/// one stage after the other from its own thread, where that copy's RDDs
/// live, a stage's tasks on the node's `slots` task slots (`stream.workers`:
/// the task host and operator workers it spawns). Its worker node checks
/// the program and the graph first.
/// - `(map_tasks_atom, uint64_t id, map_stage, actor driver)`: runs the
///   stage's tasks from the batch's inputs and sends `driver`
///   `(map_done_atom, id, std::vector<std::string>)`, each task's buckets
///   as bytes, in order (`dstream_graph::run_map_tasks`), or
///   `(map_failed_atom, id, std::string why)` if the graph has no such
///   stage or a task failed.
caf::actor spawn_task_host(caf::actor_system& sys,
                           std::shared_ptr<detail::dstream_graph> graph,
                           size_t slots);

} // namespace caf_stream::actors
