#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "caf_stream/checkpoint/checkpoint.hpp"

namespace caf_stream::actors {

class runtime_state;

/// Checkpoint writer (Spark's CheckpointWriter), detached: writes the
/// checkpoint records the job scheduler makes into `directory`, in the
/// order they come, off the batch path (atomically: a temporary file, then
/// a rename), and keeps the newest `keep` records of each kind. When it
/// falls behind, records that newer ones supersede are skipped
/// (`detail::pending_checkpoints`). A write that fails is logged with the
/// reason and counted; the next may succeed.
/// - `checkpoint_record`: writes it;
/// - `(drain_atom)` -> `(uint64_t, std::string)`: answers, once every
///   record sent before it is written, the number of writes that failed so
///   far and why the last record failed ("" if it was written): the
///   runtime's stop.
/// After each write, done or failed, it tells `listener_bus` (if set) how
/// long it took (a `checkpoint_written` listener event: the metrics'
/// checkpoint write times), unless `runtime` (if set) has no listeners:
/// each event wakes the bus. After each record written it calls `written`
/// (if set) with the record: the receiver write-ahead log deletes what
/// recovery no longer needs.
caf::actor spawn_checkpoint_writer(
  caf::actor_system& sys, std::string directory, size_t keep,
  caf::actor listener_bus, std::shared_ptr<runtime_state> runtime = nullptr,
  std::function<void(const detail::checkpoint_record&)> written = nullptr);

} // namespace caf_stream::actors
