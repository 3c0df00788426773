#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/scheduler/fetch_plan.hpp"
#include "caf_stream/scheduler/speculation.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

#include "node_map_stages.hpp"
#include "sent_stage_table.hpp"

namespace caf_stream::actors {

/// One run of `run_stage`: the stage's tasks on the nodes at `addresses`
/// (`task_assignment`), the stages sent and not done (`sent_stage_table`),
/// the fetches of their outputs (`fetch_plan`) and the answers waited for
/// (`speculation`). Its member functions are the steps of the run; the
/// node actors, the nodes' standing and the logs are `owner`'s.
class node_map_stages::stage_run {
public:
  /// `run_stage`'s arguments, with the stage's place in the batch's
  /// lineage (`where`) and the nodes not excluded (`addresses`).
  stage_run(node_map_stages& owner, const detail::rdd_node_base& target,
            size_t n, std::optional<result_form> result,
            detail::function_ref<void(const std::vector<uint32_t>&)> here,
            outputs_taker take, const std::vector<uint32_t>* partitions,
            detail::dstream_graph::stage_location where,
            std::vector<std::string> addresses);

  /// Runs every task: on the nodes, and those that every node failed here.
  void run();

private:
  // Why reaching a node failed, for a log line.
  std::string why_not(const caf::error& e) const;

  // Reaches every node, so that the slots of those reached now count in
  // the stage's shares; returns the nodes not reached and why.
  std::vector<std::pair<size_t, std::string>> reach_all();

  // Node `k` gets no tasks for a while (`node_exclusion`): the seconds it
  // rests.
  int64_t exclude(size_t k);

  // Node `k` failed its tasks, which run again elsewhere.
  void fail(size_t k, const std::string& why);

  // The node that holds stage `x`'s outputs may drop them.
  void release(uint64_t id, const sent_stage& x);

  // Asks for the next chunks, within `stream.shuffle.max-in-flight`.
  void fetch_more();

  // The reduce tasks on the nodes failed: their outputs are dropped and
  // the driver fetches the held buckets.
  void reduce_here(const std::string& why);

  // The reduce tasks ran: the held buckets are no longer needed.
  void reduce_done();

  // How a stage's outputs came to the driver.
  enum class came { fetched, with_answer };

  // Stage `id`'s outputs are all here.
  void took(uint64_t id, std::vector<std::string> outputs, came how);

  // Stage `id` failed.
  void failed(uint64_t id, const std::string& why);

  // Stage `id`'s answer is late (`stream.speculation`).
  void speculate(uint64_t id);

  // Late stage `id` answered: whether its answer is taken.
  bool first_answer(uint64_t id);

  // Sends the reduce tasks to the nodes that hold the buckets.
  void start_reduce();

  // Sends tasks `mine` to node `k`.
  void send_tasks(size_t k, std::vector<uint32_t> mine);

  // Sends node `k`, whose node actor is `node`, stage `id` (`what`: map,
  // result, count or reduce tasks): to its task host if that answered a
  // stage, else to `node`, which hands it on. Returns the task host it went
  // to, if it did (`sent_stage::via`).
  template <class Atom, class Stage>
  caf::actor_addr send_stage(size_t k, const caf::actor& node, Atom what,
                             uint64_t id, Stage stage);

  // Node `k` answered a round: it gets the next one, if rounds are sent.
  void offer(size_t k);

  // The stage that `host`'s answer to stage `id` is for, if it is taken
  // (a late node's answer may not be).
  sent_stage* answer_to(uint64_t id, caf::actor host);

  // The task host `host` answered stage `id`: its outputs' sizes, and
  // each bucket's place in them (map stages).
  void answered(uint64_t id, caf::actor host, std::vector<uint64_t>& sizes,
                std::vector<uint64_t>& spans);

  // The task host `host` answered stage `id` with its outputs (a result or
  // reduce stage's that fit in one fetch chunk).
  void answered(uint64_t id, caf::actor host,
                std::vector<std::string>& outputs);

  // Waits until no stage sent is waited for.
  void wait();

  node_map_stages& owner_;
  const detail::rdd_node_base& target_;
  size_t n_;
  std::optional<result_form> result_;
  detail::function_ref<void(const std::vector<uint32_t>&)> here_;
  outputs_taker take_;
  const std::vector<uint32_t>* partitions_;
  detail::dstream_graph::stage_location where_;
  std::vector<std::string> addresses_;
  // The batch time, for log lines.
  std::string t_;
  // What the tasks are, and what a node's answer holds, for log lines.
  const char* what_;
  const char* outputs_are_;
  // The input goes to each node once as bytes, with only the partitions
  // its tasks read where that is known. A stage that reads other shuffles'
  // partitions gets those its tasks read, and no input records.
  bool reads_reduced_;
  bool own_partitions_;
  // Where the driver makes the input (a queue's partitions, blocks it
  // holds, another shuffle's partitions), each node gets its tasks round
  // by round, a round its task slots: the first round starts while the
  // driver makes the next one's input. At most `rounds_ahead` rounds wait
  // at a node; the next goes to the node that answers one first, its own
  // or another node's (`steal_round`), as Spark offers a task to the slot
  // that frees up, so that a faster node runs more of them.
  bool by_rounds_;
  // The nodes not reached as the run began, and why: they fail at once.
  std::vector<std::pair<size_t, std::string>> unreached_;
  task_assignment tasks_;
  // The stages sent and not done yet.
  sent_stage_table out_;
  fetch_plan fetches_;
  speculation late_;
  // The reduce tasks run on the nodes that hold the buckets, which fetch
  // them from each other, unless the records do not serialize or that
  // failed: then the buckets come here.
  bool on_nodes_;
  bool reducing_ = false;
  size_t reduced_ = 0;
  // Whether the wait's wake-up is the next late answer's.
  bool speculating_ = false;
};

} // namespace caf_stream::actors
