#include "node_map_stages.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/scheduler/executor_table.hpp"
#include "caf_stream/scheduler/fetch_plan.hpp"
#include "caf_stream/scheduler/speculation.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

namespace caf_stream::actors {

namespace {

// How long a node that failed map tasks gets none: 5 s, and twice as long
// each time it fails again before it ran tasks, up to 80 s (a frozen node
// costs a stage its connection's timeout each time it is tried).
constexpr auto first_exclusion = std::chrono::seconds(5);
constexpr auto longest_exclusion = std::chrono::seconds(80);

// The bytes of outputs `xs`.
size_t total_bytes(const std::vector<std::string>& xs) {
  size_t result = 0;
  for (const auto& x : xs)
    result += x.size();
  return result;
}

// The partitions that tasks `tasks` compute: `(*partitions)[i]` for task
// `i`, or `i` itself without `partitions`.
std::vector<uint32_t> partitions_of(const std::vector<uint32_t>& tasks,
                                    const std::vector<uint32_t>* partitions) {
  if (partitions == nullptr)
    return tasks;
  std::vector<uint32_t> result;
  for (auto i : tasks)
    result.push_back(partitions->at(i));
  return result;
}

} // namespace

node_map_stages::node_map_stages(caf::blocking_actor* self,
                                 const detail::dstream_graph& graph,
                                 const stream_options& opts,
                                 const caf::actor& directory,
                                 executor_table& executors, node_watch& watch)
  : self_(self),
    graph_(graph),
    opts_(opts),
    directory_(directory),
    executors_(executors),
    fingerprint_(graph.fingerprint()),
    program_(program_id(opts)),
    inputs_(graph),
    watch_(watch),
    excluded_(first_exclusion, longest_exclusion),
    log_(detail::logger("executor")) {
  // nop
}

node_map_stages::~node_map_stages() {
  // nop
}

void node_map_stages::set_batch(const job_set& js) {
  inputs_.set_batch(js);
}

bool node_map_stages::run(
  const detail::rdd_node_base& shuffle, size_t n,
  detail::function_ref<void(const std::vector<uint32_t>&)> here) {
  if (!shuffle.map_output_serializable()
      || (detail::map_stage_reads_shuffle(shuffle)
          && !detail::map_tasks_read_reduced(shuffle)))
    return false;
  auto take_buckets = [&](const std::vector<uint32_t>& mine,
                          std::vector<std::string>& buckets,
                          task_assignment& tasks) {
    return take(shuffle, mine, buckets, tasks);
  };
  return run_stage(shuffle, n, std::nullopt, here, take_buckets);
}

std::optional<std::vector<std::string>> node_map_stages::run_result_stage(
  const detail::rdd_node_base& node, const std::vector<uint32_t>& partitions,
  result_form form,
  detail::function_ref<std::vector<std::string>(const std::vector<uint32_t>&)>
    here) {
  if (!detail::result_tasks_run_where_kept(node, partitions, form))
    return std::nullopt;
  // By task: task k computes partition `partitions[k]`.
  std::vector<std::string> result(partitions.size());
  auto take_records = [&](const std::vector<uint32_t>& mine,
                          std::vector<std::string>& records,
                          task_assignment& tasks) -> std::string {
    if (records.size() != mine.size())
      return "it answered " + std::to_string(records.size())
             + " partitions for " + std::to_string(mine.size()) + " tasks";
    for (size_t j = 0; j < mine.size(); ++j) {
      result[mine[j]] = std::move(records[j]);
      tasks.finished(mine[j]);
    }
    return {};
  };
  auto local = [&](const std::vector<uint32_t>& mine) {
    auto records = here(partitions_of(mine, &partitions));
    for (size_t j = 0; j < mine.size(); ++j)
      result[mine[j]] = std::move(records.at(j));
  };
  if (!run_stage(node, result.size(), form, local, take_records, &partitions))
    return std::nullopt;
  return result;
}

bool node_map_stages::run_stage(
  const detail::rdd_node_base& target, size_t n,
  std::optional<result_form> result,
  detail::function_ref<void(const std::vector<uint32_t>&)> here,
  outputs_taker take, const std::vector<uint32_t>* partitions) {
  auto counts = result == result_form::count;
  auto what = !result ? "map" : counts ? "count" : "result";
  // What a node's answer holds.
  auto outputs_are = !result ? "buckets" : counts ? "counts" : "records";
  auto where = graph_.locate(inputs_.batch_time(), target);
  if (!where)
    return false;
  auto addresses = worker_nodes(self_, directory_, opts_);
  // A node that failed lately gets no tasks for a while (a frozen node
  // would hold every stage up for its handshake's timeout).
  auto now = node_exclusion::clock::now();
  addresses.erase(std::remove_if(addresses.begin(), addresses.end(),
                                 [&](const std::string& x) {
                                   return excluded_.excluded(x, now);
                                 }),
                  addresses.end());
  if (addresses.empty())
    return false;
  auto t = to_string(inputs_.batch_time());
  // The input goes to each node once as bytes, with only the partitions
  // its tasks read where that is known. A stage that reads other shuffles'
  // partitions gets those its tasks read, and no input records.
  auto reads_reduced = !result && detail::map_stage_reads_shuffle(target);
  auto own_partitions = reads_reduced
                        || detail::map_tasks_read_own_partitions(target);
  auto why_not = [&](const caf::error& e) {
    return is_stream_error(e) ? message_of(e) : self_->system().render(e);
  };
  // Every node is reached first: the slots of those reached now count in
  // this stage's shares too.
  std::vector<std::pair<size_t, std::string>> unreached;
  for (size_t k = 0; k < addresses.size(); ++k)
    if (auto node = reach(addresses[k]); !node)
      unreached.emplace_back(k, why_not(node.error()));
  task_assignment tasks{n, slots_of(addresses), opts_.task_max_failures};
  auto fail = [&](size_t k, const std::string& why) {
    nodes_.erase(addresses[k]);
    auto rest = excluded_.failed(addresses[k], node_exclusion::clock::now());
    log_->warn("batch {}: {} tasks on the worker node {} failed, they run "
               "again elsewhere (the node gets none for {} s): {}",
               t, what, addresses[k],
               std::chrono::duration_cast<std::chrono::seconds>(rest).count(),
               why);
    tasks.node_failed(k, why);
  };
  for (const auto& [k, why] : unreached)
    fail(k, why);
  // A task goes to a node that keeps its input and is here: the first,
  // or the node of a copy where that evens out the nodes' loads.
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<size_t> keepers;
    for (const auto& where : detail::map_task_locations(
           target, partitions != nullptr ? partitions->at(i) : i)) {
      auto k = std::find(addresses.begin(), addresses.end(), where);
      if (k != addresses.end())
        keepers.push_back(static_cast<size_t>(k - addresses.begin()));
    }
    if (!keepers.empty())
      tasks.prefer(i, keepers);
  }
  tasks.balance();
  // The stages sent and not done yet.
  sent_stage_table out;
  fetch_plan fetches{opts_.shuffle_fetch_chunk, opts_.shuffle_max_in_flight};
  speculation late{opts_.speculation_multiplier,
                   opts_.speculation_min_task_runtime};
  // The reduce tasks run on the nodes that hold the buckets, which fetch
  // them from each other, unless the records do not serialize or that
  // failed: then the buckets come here.
  auto on_nodes = !result && target.reduce_serializable();
  auto reducing = false;
  size_t reduced = 0;
  auto release = [&](uint64_t id, const sent_stage& x) {
    if (x.host)
      self_->send(x.host, release_atom::value, id);
  };
  // Asks for the next chunks, within `stream.shuffle.max-in-flight`.
  auto fetch_more = [&] {
    for (const auto& r : fetches.next())
      self_->send(out.stages().at(r.source).host, fetch_atom::value, r.source,
                  r.bucket, r.offset, r.size);
  };
  // The reduce tasks on the nodes failed: their outputs are dropped and
  // the driver fetches the held buckets.
  auto reduce_here = [&](const std::string& why) {
    if (!on_nodes)
      return;
    on_nodes = false;
    reducing = false;
    log_->warn("batch {}: the reduce tasks of stream {} run on the driver: "
               "{}",
               t, where->stream, why);
    auto [reduces, unheld] = out.reduce_failed();
    for (const auto& [id, x] : reduces) {
      fetches.drop(id);
      late.dropped(id);
      release(id, x);
    }
    for (const auto& [id, sizes] : unheld)
      fetches.add(id, sizes);
    // (A map task's frame has a header: a fetch is never complete yet.)
    fetch_more();
  };
  // The reduce tasks ran: the held buckets are no longer needed.
  auto reduce_done = [&] {
    for (const auto& [id, x] : out.take_all()) {
      release(id, x);
      for (auto i : x.tasks)
        tasks.finished(i);
    }
    log_->debug("batch {}: the {} reduce tasks of stream {} ran on the "
                "worker nodes",
                t, target.num_partitions(), where->stream);
  };
  // Stage `id`'s outputs are all here.
  auto fetched = [&](uint64_t id) {
    auto taken = out.take(id);
    if (!taken)
      return;
    auto& x = *taken;
    release(id, x);
    auto outputs = fetches.take(id);
    if (x.reduce) {
      try {
        for (size_t k = 0; k < x.tasks.size(); ++k)
          target.add_reduced(x.tasks[k], outputs.at(k));
      } catch (const std::exception& e) {
        reduce_here(std::string{"a reduced partition is malformed: "}
                    + e.what());
        return;
      }
      log_->debug("batch {}: {} reduce tasks of stream {} ran on the worker "
                  "node {} ({} bytes of records fetched)",
                  t, x.tasks.size(), where->stream, addresses[x.node],
                  total_bytes(outputs));
      executors_.completed(addresses[x.node], x.tasks.size());
      reduced += x.tasks.size();
      if (reduced == target.num_partitions())
        reduce_done();
      return;
    }
    auto bytes = total_bytes(outputs);
    // A task that another answer finished first (a late node's, or a copy
    // of its tasks') is taken from that answer only.
    auto mine = x.tasks;
    if (outputs.size() == mine.size())
      for (auto j = mine.size(); j-- > 0;)
        if (tasks.is_finished(mine[j])) {
          mine.erase(mine.begin() + static_cast<ptrdiff_t>(j));
          outputs.erase(outputs.begin() + static_cast<ptrdiff_t>(j));
        }
    auto why = take(mine, outputs, tasks);
    if (!why.empty()) {
      fail(x.node, why);
      return;
    }
    excluded_.succeeded(addresses[x.node]);
    executors_.completed(addresses[x.node], mine.size());
    log_->debug("batch {}: {} {} tasks of stream {} ran on the worker node "
                "{} ({} bytes of {} fetched)",
                t, x.tasks.size(), what, where->stream, addresses[x.node],
                bytes, outputs_are);
  };
  auto failed = [&](uint64_t id, const std::string& why) {
    auto taken = out.take(id);
    if (!taken)
      return;
    auto& x = *taken;
    fetches.drop(id);
    late.dropped(id);
    release(id, x);
    // Held buckets count as completed tasks (which a lost node's run
    // again).
    if (!x.held)
      executors_.failed(addresses[x.node], x.tasks.size());
    // Its tasks run elsewhere already, and its node rests.
    if (x.late) {
      log_->debug("batch {}: {} tasks on the worker node {}, given up on as "
                  "late, failed: {}",
                  t, what, addresses[x.node], why);
      return;
    }
    if (x.reduce) {
      reduce_here("the worker node " + addresses[x.node] + " failed: " + why);
      return;
    }
    // The reduce tasks may be reading this node's buckets.
    if (reducing)
      reduce_here("the worker node " + addresses[x.node]
                  + " that holds map outputs failed: " + why);
    fail(x.node, why);
    // Its other tasks run elsewhere too: the buckets it holds for them are
    // not needed.
    for (const auto& [j, y] : out.take_held(x.node))
      release(j, y);
  };
  // Stage `id`'s answer is late (`stream.speculation`): the node's
  // unfinished map tasks run again elsewhere as copies, which count as no
  // failure (Spark's speculative tasks), and the node gets none for a
  // while. Its stages are not waited for, but an answer of theirs is taken
  // if it comes first (`first_answer`). A late reduce stage fails.
  auto speculate = [&](uint64_t id) {
    auto x = out.find(id);
    if (x == nullptr || x->late)
      return;
    std::string why = "its answer is late (stream.speculation: the other "
                      "nodes answered sooner)";
    if (x->reduce) {
      failed(id, why);
      return;
    }
    auto k = x->node;
    auto rest = excluded_.failed(addresses[k], node_exclusion::clock::now());
    log_->warn("batch {}: {} tasks on the worker node {} run again elsewhere "
               "(the node gets none for {} s): {}; its answer is taken if it "
               "comes first",
               t, what, addresses[k],
               std::chrono::duration_cast<std::chrono::seconds>(rest).count(),
               why);
    tasks.node_late(k);
    auto [marked, held] = out.mark_late(k);
    for (const auto& [j, y] : held)
      release(j, y);
    for (auto j : marked) {
      late.dropped(j);
      given_up(j, addresses[k]);
    }
  };
  // Late stage `id` answered: its answer is taken if no other answer
  // covers one of its tasks yet (Spark takes a task's first result), and
  // the copies that run its tasks alone are not waited for (their answers
  // are released as they come).
  auto first_answer = [&](uint64_t id) {
    auto copies = out.answered_first(id, tasks);
    if (!copies)
      return false;
    auto& x = *out.find(id);
    tasks.answered_by(x.node, x.tasks);
    given_up_.erase(id);
    excluded_.succeeded(addresses[x.node]);
    for (auto j : *copies)
      late.dropped(j);
    log_->info("batch {}: the worker node {} answered its {} {} tasks "
               "before their copies, after it was given up on as late: its "
               "answer is taken",
               t, addresses[x.node], x.tasks.size(), what);
    return true;
  };
  // Sends the reduce tasks to the nodes that hold the buckets.
  auto start_reduce = [&] {
    auto stages = reduce_stages(target, *where, n, addresses, out.stages());
    if (stages.empty()) {
      reduce_here("the map outputs on the nodes do not cover the stage");
      return;
    }
    reducing = true;
    reduced = 0;
    // A reduce stage's answer is late against the other reduce stages'.
    late = speculation{opts_.speculation_multiplier,
                       opts_.speculation_min_task_runtime};
    for (auto& [k, stage] : stages) {
      auto id = ++next_id_;
      auto& node = nodes_.at(addresses[k]);
      auto mine = stage.shuffle.tasks;
      self_->send(node, reduce_tasks_atom::value, id, std::move(stage));
      late.sent(id, speculation::clock::now(), tasks.rounds(k, mine.size()));
      out.add(id, sent_stage{k, node.address(), std::move(mine), true});
    }
  };
  // Sends tasks `mine` to node `k`.
  auto send_tasks = [&](size_t k, std::vector<uint32_t> mine) {
    auto node = reach(addresses[k]);
    if (!node) {
      fail(k, why_not(node.error()));
      return;
    }
    auto id = ++next_id_;
    // The nodes name a task by the partition it computes.
    auto named = partitions_of(mine, partitions);
    auto inputs = inputs_.for_node(target,
                                   reads_reduced ? std::vector<uint32_t>{}
                                                 : named,
                                   own_partitions, addresses[k]);
    auto reduced = reads_reduced ? reduced_inputs(target, named)
                                 : std::vector<detail::reduced_input>{};
    log_->debug("batch {}: {} {} tasks of stream {} sent to the worker node "
                "{} ({} bytes of input)",
                t, mine.size(), what, where->stream, addresses[k],
                stage_inputs::bytes_in(inputs) + bytes_of(reduced));
    auto stage = stage_of(*where, std::move(named), std::move(inputs));
    stage.reduced = std::move(reduced);
    if (!result)
      self_->send(*node, map_tasks_atom::value, id, std::move(stage));
    else if (counts)
      self_->send(*node, count_tasks_atom::value, id, std::move(stage));
    else
      self_->send(*node, result_tasks_atom::value, id, std::move(stage));
    // The node runs them after its tasks sent before that it did not
    // answer yet: those count in their rounds (`speculation`).
    auto queued = mine.size();
    for (const auto& [j, y] : out.stages())
      if (y.node == k && !y.reduce && !y.held && !y.host && !y.late)
        queued += y.tasks.size();
    late.sent(id, speculation::clock::now(), tasks.rounds(k, queued));
    out.add(id, sent_stage{k, node->address(), std::move(mine)});
  };
  // Where the driver makes the input (a queue's partitions, blocks it
  // holds, another shuffle's partitions), each node gets its tasks round
  // by round, a round its task slots: the first round starts while the
  // driver makes the next one's input. At most `rounds_ahead` rounds wait
  // at a node; the next goes to the node that answers one first, its own
  // or another node's (`steal_round`), as Spark offers a task to the slot
  // that frees up, so that a faster node runs more of them.
  auto by_rounds = reads_reduced
                   || (own_partitions && inputs_.carries_records());
  constexpr size_t rounds_ahead = 2;
  auto offer = [&](size_t k) {
    if (!by_rounds)
      return;
    auto mine = tasks.take_round(k);
    if (mine.empty())
      mine = tasks.steal_round(k);
    if (!mine.empty())
      send_tasks(k, std::move(mine));
  };
  while (!tasks.done()) {
    auto sent_any = false;
    for (size_t r = 0; r < (by_rounds ? rounds_ahead : 1); ++r) {
      for (size_t k = 0; k < addresses.size(); ++k) {
        auto mine = by_rounds ? tasks.take_round(k) : tasks.take_unsent(k);
        if (mine.empty())
          continue;
        sent_any = true;
        send_tasks(k, std::move(mine));
      }
    }
    // Every map task's buckets wait on the nodes: the reduce tasks go
    // there.
    if (on_nodes && !reducing && !sent_any && !out.empty() && !out.waiting())
      start_reduce();
    // A node that is lost goes down (the middleman kills its proxy): its
    // tasks go elsewhere without waiting for the timeout. A node whose
    // answer is late (`stream.speculation.*`), or that does not answer
    // within `stream.state-timeout`, fails.
    // When the stages went out or the last message came (this loop's own
    // wake-ups do not count).
    auto progress = deadline::clock::now();
    while (out.waiting()) {
      // The wait ends when the next answer is late, if that comes first.
      auto wait = deadline::left(progress, deadline::clock::now(),
                                 opts_.state_timeout);
      auto until_late = late.until_late(speculation::clock::now());
      auto speculating = false;
      if (opts_.speculation && until_late) {
        auto x = std::chrono::duration_cast<duration>(*until_late)
                 + duration{1};
        speculating = x < wait;
        wait = std::min(wait, x);
      }
      if (auto wake_up = deadline_.arm(deadline::clock::now(), wait))
        self_->delayed_send(self_, wait, deadline_atom::value, *wake_up);
      auto woke = false;
      self_->receive(
        [&](map_done_atom, uint64_t id, std::vector<uint64_t>& sizes,
            std::vector<uint64_t>& spans) {
          auto found = out.find(id);
          auto host = caf::actor_cast<caf::actor>(self_->current_sender());
          if (found == nullptr) {
            late_answer(id, host);
            return;
          }
          auto& x = *found;
          x.host = std::move(host);
          if (x.late && !first_answer(id)) {
            late_answer(id, out.take(id)->host);
            return;
          }
          late.answered(id, speculation::clock::now());
          if (on_nodes && !x.reduce) {
            // The buckets wait on the node for the reduce tasks.
            if (auto why = misfit(target, x.tasks.size(), spans.size());
                !why.empty()) {
              failed(id, why);
              return;
            }
            excluded_.succeeded(addresses[x.node]);
            executors_.completed(addresses[x.node], x.tasks.size());
            log_->debug("batch {}: {} map tasks of stream {} ran on the "
                        "worker node {} (their buckets stay there)",
                        t, x.tasks.size(), where->stream, addresses[x.node]);
            x.held = true;
            x.sizes = std::move(sizes);
            x.spans = std::move(spans);
            offer(x.node);
            return;
          }
          // Fetching its outputs is up to the driver.
          auto k = x.node;
          auto reduce = x.reduce;
          fetches.add(id, sizes);
          if (fetches.complete(id))
            fetched(id);
          if (!reduce)
            offer(k);
          fetch_more();
        },
        [&](chunk_atom, uint64_t id, uint32_t task, uint64_t offset,
            uint64_t size, const std::string& bytes) {
          try {
            if (fetches.received({id, task, offset, size}, bytes))
              fetched(id);
          } catch (const stream_error& e) {
            failed(id, e.what());
          }
          fetch_more();
        },
        [&](map_failed_atom, uint64_t id, std::string& why) {
          failed(id, why);
          fetch_more();
        },
        [&](caf::down_msg& dm) {
          forget(dm.source);
          for (auto id : out.sent_to(dm.source))
            failed(id, "the node was lost: "
                         + self_->system().render(dm.reason));
          fetch_more();
        },
        [&](deadline_atom, uint64_t wake_up) {
          woke = true;
          if (!deadline_.passed(wake_up, deadline::clock::now()))
            return;
          if (speculating) {
            for (auto id : late.late(speculation::clock::now()))
              speculate(id);
            return;
          }
          for (auto id : out.unanswered())
            failed(id, "no answer within stream.state-timeout ("
                         + to_string(opts_.state_timeout) + ")");
        });
      if (!woke)
        progress = deadline::clock::now();
    }
    auto local = tasks.take_for_driver();
    if (!local.empty()) {
      // Their buckets are here: the others come here too.
      reduce_here("map tasks ran on the driver");
      here(local);
      for (auto i : local)
        tasks.finished(i);
    }
  }
  return true;
}

} // namespace caf_stream::actors
