#pragma once

#include <cstddef>
#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/config.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Task host: runs the map tasks that drivers send to this worker node
/// against the node's own copy of the graph (which the same program built),
/// one stage after the other from its own thread, where that copy's RDDs
/// live, a stage's tasks on the node's task slots (`opts.workers`: the
/// task host and operator workers it spawns). Its worker node checks the
/// program and the graph of a driver's stages and hands them on; once this
/// task host answered one, the driver sends the next ones here directly
/// (one hop less), so only a driver that passed the check knows this actor.
/// The blocks a stage reads that a worker
/// node keeps come from that node (this node's own by pointer), in chunks
/// of `opts.shuffle_fetch_chunk` bytes. The buckets, and outputs larger
/// than a chunk, stay here until the driver fetched them, in chunks
/// (`stream.shuffle.fetch-chunk`).
/// - `(map_tasks_atom, uint64_t id, map_stage, actor driver)`: runs the
///   stage's tasks from the batch's inputs, keeps each task's buckets as
///   bytes (`dstream_graph::run_map_tasks`) and sends `driver`
///   `(map_done_atom, id, std::vector<uint64_t> sizes)`, their sizes in
///   task order, or `(map_failed_atom, id, std::string why)` if the graph
///   has no such stage or a task failed;
/// - `(result_tasks_atom, uint64_t id, map_stage, actor driver)`: computes
///   the partitions of a result stage's tasks, each one's records as bytes
///   (`dstream_graph::run_result_tasks`), and answers `(map_done_atom, id,
///   std::vector<std::string> outputs)`, those bytes in task order, where
///   they fit in one fetch chunk (Spark's direct task results); else it
///   keeps them and answers as for a map stage; `(count_tasks_atom, ...)`
///   alike, with each one's number of records (`result_form::count`);
/// - `(fetch_atom, uint64_t id, uint32_t task, uint64_t offset, uint64_t
///   size)` from that driver: answers `(chunk_atom, id, task, offset,
///   size, std::string bytes)`, those bytes of the `task`th task's
///   outputs on into the next tasks' where that one ends (`fetch_plan`),
///   or `(map_failed_atom, id, why)` if it holds no such bytes;
/// - `(reduce_tasks_atom, uint64_t id, reduce_stage, actor driver)`:
///   fetches the stage's buckets from the nodes that hold them (its own
///   from here), runs its reduce tasks and answers their records as a
///   result stage's;
/// - `(fetch_atom, actor driver, uint64_t id, uint32_t task,
///   std::vector<uint64_t> pieces, uint64_t tag)` from another node's task
///   host, which fetches buckets for its reduce tasks, several in one
///   fetch: `pieces` are offset and size pairs in the `task`th output.
///   Answers it `(chunk_atom, tag, offset, size, std::string bytes)`, the
///   pieces' bytes one after the other with the first one's offset and
///   their size, or `(map_failed_atom, tag, why)`. The fetching host names
///   its call and the first bucket in `tag`, so that late answers to a
///   call that failed do not count in the next;
/// - `(release_atom, uint64_t id)`: forgets stage `id`'s buckets, as it
///   does those of a driver that went down.
caf::actor spawn_task_host(caf::actor_system& sys,
                           std::shared_ptr<detail::dstream_graph> graph,
                           const stream_options& opts);

} // namespace caf_stream::actors
