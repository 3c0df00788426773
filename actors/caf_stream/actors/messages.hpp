#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "caf/actor.hpp"
#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/none.hpp"
#include "caf/serializer.hpp"

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/listener_event_queue.hpp"
#include "caf_stream/scheduler/job.hpp"

/// The message protocol between the runtime's actors. Atoms are declared
/// here once. Every message is serializable (`add_stream_message_types`):
/// blocks, times, job sets, tasks, and everything state holders and state
/// nodes exchange.
namespace caf_stream::actors {

using tick_batch_atom = caf::atom_constant<caf::atom("tickbatch")>;
using allocate_atom = caf::atom_constant<caf::atom("allocate")>;
using seal_atom = caf::atom_constant<caf::atom("seal")>;
using blocks_atom = caf::atom_constant<caf::atom("blocks")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using run_task_atom = caf::atom_constant<caf::atom("runtask")>;
using task_done_atom = caf::atom_constant<caf::atom("taskdone")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using error_atom = caf::atom_constant<caf::atom("error")>;
using batch_done_atom = caf::atom_constant<caf::atom("batchdone")>;
using rate_atom = caf::atom_constant<caf::atom("rate")>;
using batch_waiting_atom = caf::atom_constant<caf::atom("bwaiting")>;
using state_atom = caf::atom_constant<caf::atom("state")>;
using spawn_holder_atom = caf::atom_constant<caf::atom("spawnhold")>;
using start_receiver_atom = caf::atom_constant<caf::atom("startrcv")>;
using next_event_atom = caf::atom_constant<caf::atom("nextevent")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using seal_late_atom = caf::atom_constant<caf::atom("seallate")>;
using map_tasks_atom = caf::atom_constant<caf::atom("maptasks")>;
using map_done_atom = caf::atom_constant<caf::atom("mapdone")>;
using map_failed_atom = caf::atom_constant<caf::atom("mapfailed")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using put_blocks_atom = caf::atom_constant<caf::atom("putblocks")>;
using get_block_atom = caf::atom_constant<caf::atom("getblock")>;
using fetch_block_atom = caf::atom_constant<caf::atom("fetchblk")>;
using block_chunk_atom = caf::atom_constant<caf::atom("blockchnk")>;
using no_block_atom = caf::atom_constant<caf::atom("noblock")>;
using release_blocks_atom = caf::atom_constant<caf::atom("relblocks")>;
using copy_blocks_atom = caf::atom_constant<caf::atom("copyblocks")>;
using replicate_atom = caf::atom_constant<caf::atom("replicate")>;
using reduce_tasks_atom = caf::atom_constant<caf::atom("redtasks")>;
using result_tasks_atom = caf::atom_constant<caf::atom("restasks")>;
using count_tasks_atom = caf::atom_constant<caf::atom("cnttasks")>;
using slots_atom = caf::atom_constant<caf::atom("slots")>;
using connect_back_atom = caf::atom_constant<caf::atom("connback")>;

/// The tasks of one stage: `run(i)` for i in [0, n). Whoever claims a task
/// runs it: the operator worker it was sent to, or the job executor once
/// its own task is done, so that a stage of tasks shorter than a worker's
/// wake-up does not wait for the workers. `run` refers to the executor's
/// stack: a worker whose message comes after the stage ended finds its task
/// claimed and leaves `run` alone (the batch itself is shared).
struct task_batch {
  uint64_t id = 0;
  detail::function_ref<void(size_t)> run;
  std::vector<std::atomic<bool>> claimed;
  std::mutex mtx;
  std::exception_ptr error;

  task_batch(uint64_t id, detail::function_ref<void(size_t)> f, size_t n)
    : id(id), run(f), claimed(n) {
    // nop
  }

  /// Whether the caller got task `i` to run (it was not claimed before).
  bool claim(size_t i) noexcept {
    return !claimed[i].exchange(true, std::memory_order_acq_rel);
  }

  /// Runs task `i`, keeping the first exception.
  void run_task(size_t i) noexcept {
    try {
      run(i);
    } catch (...) {
      std::lock_guard<std::mutex> guard{mtx};
      if (!error)
        error = std::current_exception();
    }
  }
};

/// One task of a stage, as sent to an operator worker, named by what it
/// computes: partition `index` of stage `stage` of the graph whose
/// fingerprint hashes to `graph`, in batch `batch_time`. On one node the
/// stage travels along by pointer; a task read back from bytes has none, and
/// its worker looks the stage up by name in its node's `stage_table`.
struct task_ref {
  task_ref() = default;

  task_ref(std::shared_ptr<task_batch> batch, size_t index, uint64_t graph = 0,
           uint64_t stage = 0, time batch_time = {})
    : batch(std::move(batch)),
      index(index),
      graph(graph),
      stage(stage),
      batch_time(batch_time) {
    // nop
  }

  std::shared_ptr<task_batch> batch;
  size_t index = 0;
  uint64_t graph = 0;
  uint64_t stage = 0;
  time batch_time;
};

using block_list = std::vector<block>;

/// Map tasks of one shuffle for a worker node, named by what they compute:
/// tasks `tasks` of the map stage of the node at `path` in the lineage of
/// stream `stream`'s RDD of batch `batch` (`dstream_graph::locate`), in the
/// graph `fingerprint` of the program `program`, whose first batch came
/// after `zero`, with the driver's default parallelism `parallelism` (the
/// node builds the lineage with it: `dstream_graph::use_driver_parallelism`;
/// 0: the node's own), and the driver's `stream.state-timeout` in ms
/// `state_timeout_ms` (what the node's tasks wait for other nodes at most:
/// the driver gives the stage up after that; 0: the node's own). The
/// batch's blocks and generated inputs come along. Sent with
/// `result_tasks_atom`, it names a result stage's tasks instead: those
/// that compute partitions `tasks` of the RDD at `path`; with
/// `count_tasks_atom`, those that count their records (`rdd::count`). A
/// map stage that reads other shuffles' partitions carries those its
/// tasks read, computed on the driver (`reduced`).
struct map_stage {
  std::string fingerprint;
  std::string program;
  time zero;
  uint32_t parallelism = 0;
  int64_t state_timeout_ms = 0;
  uint32_t stream = 0;
  std::vector<uint32_t> path;
  std::vector<uint32_t> tasks;
  job_set batch;
  std::vector<detail::reduced_input> reduced;
};

/// Reduce tasks of one shuffle for a worker node: `shuffle` names the
/// shuffle as a `map_stage` does (its batch without records), its `tasks`
/// are the reduce partitions. The shuffle's map tasks ran on worker nodes,
/// which keep their buckets: map task `m`'s are output `outputs[m]` of the
/// stage `stages[m]` on the node `addresses[holders[m]]` (whose task host,
/// or node actor as the driver reached it, is `nodes[holders[m]]`; either
/// serves other nodes' fetches), and the bucket of
/// the `k`th reduce partition lies at offset `spans[2 * (m * n + k)]` with
/// the size `spans[2 * (m * n + k) + 1]` in that output (`n`: the number of
/// reduce partitions here).
struct reduce_stage {
  map_stage shuffle;
  std::vector<std::string> addresses;
  std::vector<caf::actor> nodes;
  std::vector<uint32_t> holders;
  std::vector<uint64_t> stages;
  std::vector<uint32_t> outputs;
  std::vector<uint64_t> spans;
};

/// What a state router's call did besides its outputs, for the executors
/// (Spark counts each partition of a state stream's cogroup as a task):
/// the partitions' calls each executor answered or failed, and the worker
/// nodes that hold the stream's partitions.
struct state_call_report {
  /// A worker node that holds partitions, as the router reached it.
  struct node {
    std::string address;
    caf::actor actor;
    size_t slots = 1;
  };

  /// By executor: "driver" (the holders on the driver) or a worker node's
  /// address.
  std::map<std::string, executor_tasks> tasks;
  std::vector<node> nodes;
  /// The first failed partition's error (an `errc`), if one failed.
  caf::error failure;
};

} // namespace caf_stream::actors

namespace caf_stream {

/// The worker node actor that keeps a block (`block::holder`).
struct block_holder {
  caf::actor node;
};

/// Blocks cross node boundaries with their records as Boost.Serialization
/// bytes (a lines block with its text; none if they stayed on the nodes
/// that keep them), and the handles of those nodes' actors if there are any
/// (flags first: reading a handle back takes a middleman); the receiving
/// side keeps the bytes until the batch decodes them.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block& x) {
  auto name = caf::meta::type_name("caf_stream::block");
  if constexpr (Inspector::reads_state) {
    // Records by pointer become bytes; bytes go as they are.
    std::string encoded;
    if (x.data)
      encoded = x.to_bytes();
    auto& bytes = x.data ? encoded : x.bytes;
    bool kept = x.holder != nullptr;
    bool copied = x.replica != nullptr;
    auto holder = kept ? x.holder->node : caf::actor{};
    auto replica = copied ? x.replica->node : caf::actor{};
    if constexpr (std::is_same<typename Inspector::result_type, void>::value) {
      f(name, x.stream_id, x.records, x.lines, bytes, x.id, x.location,
        x.replica_location, kept, copied);
      if (kept)
        f(holder);
      if (copied)
        f(replica);
    } else {
      if (auto err = f(name, x.stream_id, x.records, x.lines, bytes, x.id,
                       x.location, x.replica_location, kept, copied))
        return err;
      if (kept)
        if (auto err = f(holder))
          return err;
      if (copied)
        return f(replica);
      return caf::error{};
    }
  } else {
    x.data.reset();
    x.holder = nullptr;
    x.replica = nullptr;
    bool kept = false;
    bool copied = false;
    if (auto err = f(name, x.stream_id, x.records, x.lines, x.bytes, x.id,
                     x.location, x.replica_location, kept, copied))
      return err;
    auto read_holder = [&](std::shared_ptr<const block_holder>& dst) {
      caf::actor node;
      if (auto err = f(node))
        return err;
      dst = std::make_shared<const block_holder>(block_holder{std::move(node)});
      return caf::error{};
    };
    if (kept)
      if (auto err = read_holder(x.holder))
        return err;
    if (copied)
      return read_holder(x.replica);
    return caf::error{};
  }
}

/// Writes generated input `x`'s partitions as a `std::vector<std::string>`
/// into `f`: those in `x.written_on_send` straight from the RDD's records,
/// the others from `x.partitions`.
caf::error write_partitions(caf::serializer& f, const generated_input& x);

/// A batch's generated input crosses node boundaries with its partitions'
/// records as Boost.Serialization bytes (computed when it is sent; those
/// the RDD holds written straight into a serializer's buffer).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generated_input& x) {
  auto name = caf::meta::type_name("caf_stream::generated_input");
  if constexpr (Inspector::reads_state) {
    if constexpr (std::is_base_of_v<caf::serializer, Inspector>)
      if (!x.written_on_send.empty()) {
        if (auto err = f(name, x.records))
          return err;
        return write_partitions(f, x);
      }
    // The RDD by pointer becomes bytes (every partition, for an inspector
    // that only shows them); bytes go as they are.
    std::vector<std::string> encoded;
    if (x.data)
      encoded = x.to_bytes();
    auto& parts = x.data ? encoded : x.partitions;
    return f(name, x.records, parts);
  } else {
    x.data.reset();
    x.encode = nullptr;
    x.write_held = nullptr;
    x.written_on_send.clear();
    return f(name, x.records, x.partitions);
  }
}

/// Batch figures cross nodes with their optional fields as a flag and a
/// value each (std::optional and std::chrono are not CAF types).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        output_operation_info& x) {
  auto started = x.start_time.has_value();
  auto start = x.start_time.value_or(time{});
  auto ended = x.end_time.has_value();
  auto end = x.end_time.value_or(time{});
  auto failed = x.failure_reason.has_value();
  auto failure = x.failure_reason.value_or(std::string{});
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.start_time = started ? std::optional<time>{start} : std::nullopt;
    x.end_time = ended ? std::optional<time>{end} : std::nullopt;
    x.failure_reason = failed ? std::optional<std::string>{failure}
                              : std::nullopt;
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::output_operation_info"),
           x.batch_time, x.id, x.name, started, start, ended, end, failed,
           failure, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, receiver_info& x) {
  auto errored = x.last_error_time.has_value();
  auto error_time = x.last_error_time.value_or(time{});
  auto limited = x.rate_limit.has_value();
  auto limit = x.rate_limit.value_or(0.0);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.last_error_time = errored ? std::optional<time>{error_time}
                                : std::nullopt;
    x.rate_limit = limited ? std::optional<double>{limit} : std::nullopt;
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::receiver_info"), x.stream_id,
           x.name, x.active, x.location, x.last_error, errored, error_time,
           limited, limit, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, executor_tasks& x) {
  return f(caf::meta::type_name("caf_stream::executor_tasks"), x.completed,
           x.failed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, executor_info& x) {
  auto removed = x.remove_time.has_value();
  auto remove_time = x.remove_time.value_or(time{});
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.remove_time = removed ? std::optional<time>{remove_time}
                            : std::nullopt;
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::executor_info"), x.id, x.active,
           x.total_cores, x.add_time, removed, remove_time, x.remove_reason,
           load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_info& x) {
  auto interval = x.batch_interval.count();
  auto started = x.processing_start_time.has_value();
  auto start = x.processing_start_time.value_or(time{});
  auto ended = x.processing_end_time.has_value();
  auto end = x.processing_end_time.value_or(time{});
  auto failed = x.failure_reason.has_value();
  auto failure = x.failure_reason.value_or(std::string{});
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.batch_interval = duration{interval};
    x.processing_start_time = started ? std::optional<time>{start}
                                      : std::nullopt;
    x.processing_end_time = ended ? std::optional<time>{end} : std::nullopt;
    x.failure_reason = failed ? std::optional<std::string>{failure}
                              : std::nullopt;
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::batch_info"), x.batch_time,
           x.num_records, x.stream_records, interval, x.submission_time,
           started, start, ended, end, failed, failure, x.output_operations,
           x.state_keys, x.tasks, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_info& x) {
  auto micros = x.write_time.count();
  auto failed = x.failure_reason.has_value();
  auto failure = x.failure_reason.value_or(std::string{});
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.write_time = std::chrono::microseconds{micros};
    x.failure_reason = failed ? std::optional<std::string>{failure}
                              : std::nullopt;
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::checkpoint_info"), x.batch_time,
           x.with_data, micros, failed, failure, load);
}

namespace actors {

/// A task crosses nodes by its name alone.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_ref& x) {
  if constexpr (!Inspector::reads_state)
    x.batch.reset();
  return f(caf::meta::type_name("caf_stream::task_ref"), x.index, x.graph,
           x.stage, x.batch_time);
}

} // namespace actors

namespace actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, map_stage& x) {
  return f(caf::meta::type_name("caf_stream::map_stage"), x.fingerprint,
           x.program, x.zero, x.parallelism, x.state_timeout_ms, x.stream,
           x.path, x.tasks, x.batch, x.reduced);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduce_stage& x) {
  return f(caf::meta::type_name("caf_stream::reduce_stage"), x.shuffle,
           x.addresses, x.nodes, x.holders, x.stages, x.outputs, x.spans);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        state_call_report::node& x) {
  return f(caf::meta::type_name("caf_stream::state_call_report::node"),
           x.address, x.actor, x.slots);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_call_report& x) {
  return f(caf::meta::type_name("caf_stream::state_call_report"), x.tasks,
           x.nodes, x.failure);
}

} // namespace actors

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("caf_stream::job"), x.batch_time, x.output_id,
           x.name);
}

/// A batch crosses nodes whole: its jobs are named by output, its blocks
/// carry their records.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_set& x) {
  return f(caf::meta::type_name("caf_stream::job_set"), x.batch_time, x.jobs,
           x.blocks, x.inputs, x.failure, x.num_records, x.stream_records,
           x.submission_time);
}

namespace detail {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduced_input& x) {
  return f(caf::meta::type_name("caf_stream::reduced_input"), x.path,
           x.index, x.bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_record& x) {
  return f(caf::meta::type_name("caf_stream::checkpoint_record"), x.version,
           x.time_ms, x.batch_interval_ms, x.zero_ms, x.graph_fingerprint,
           x.pending_ms, x.data_time_ms, x.node_data, x.input_data);
}

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_event& x) {
  auto what = static_cast<uint8_t>(x.what);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.what = static_cast<listener_event::kind>(what);
    return caf::none;
  });
  return f(caf::meta::type_name("caf_stream::listener_event"), what, x.info,
           x.receiver, x.checkpoint, x.executor, x.output, x.started_at,
           load);
}

} // namespace caf_stream

