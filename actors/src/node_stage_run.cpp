// One stage of `node_map_stages` on the worker nodes, from its tasks'
// first send to the last answer: the sends (round by round where the
// driver makes the input), the answers and the fetches of their outputs,
// the reduce tasks on the nodes, and what a failed, lost or late node
// leaves to do.

#include "node_stage_run.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/lineage.hpp"
#include "caf_stream/scheduler/executor_table.hpp"
#include "caf_stream/scheduler/fetch_plan.hpp"
#include "caf_stream/scheduler/preferred_nodes.hpp"
#include "caf_stream/scheduler/speculation.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

namespace caf_stream::actors {

namespace {

// The bytes of outputs `xs`.
size_t total_bytes(const std::vector<std::string>& xs) {
  size_t result = 0;
  for (const auto& x : xs)
    result += x.size();
  return result;
}

// At most this many rounds of a node's tasks wait at the node (see
// `stage_run::offer`).
constexpr size_t rounds_ahead = 2;

} // namespace

node_map_stages::stage_run::stage_run(
  node_map_stages& owner, const detail::rdd_node_base& target, size_t n,
  std::optional<result_form> result,
  detail::function_ref<void(const std::vector<uint32_t>&)> here,
  outputs_taker take, const std::vector<uint32_t>* partitions,
  detail::dstream_graph::stage_location where,
  std::vector<std::string> addresses)
  : owner_(owner),
    target_(target),
    n_(n),
    result_(result),
    here_(here),
    take_(take),
    partitions_(partitions),
    where_(std::move(where)),
    addresses_(std::move(addresses)),
    t_(to_string(owner.inputs_.batch_time())),
    what_(!result                          ? "map"
          : result == result_form::count ? "count"
                                           : "result"),
    outputs_are_(!result                          ? "buckets"
                 : result == result_form::count ? "counts"
                                                  : "records"),
    reads_reduced_(!result && detail::map_stage_reads_shuffle(target)),
    own_partitions_(reads_reduced_
                    || detail::map_tasks_read_own_partitions(target)),
    by_rounds_(reads_reduced_
               || (own_partitions_ && owner.inputs_.carries_records())),
    unreached_(reach_all()),
    tasks_{n, owner.slots_of(addresses_), owner.opts_.task_max_failures},
    fetches_{owner.opts_.shuffle_fetch_chunk,
             owner.opts_.shuffle_max_in_flight},
    late_{owner.opts_.speculation_multiplier,
          owner.opts_.speculation_min_task_runtime},
    on_nodes_(!result && target.reduce_serializable()) {
  for (const auto& [k, why] : unreached_)
    fail(k, why);
  // A task goes to a node that keeps its input (or is on the host its
  // input prefers) and is here: the first, or another where that evens out
  // the nodes' loads.
  for (uint32_t i = 0; i < n_; ++i) {
    auto keepers = preferred_nodes(
      addresses_, detail::map_task_locations(
                    target_, partitions_ != nullptr ? partitions_->at(i) : i));
    if (!keepers.empty())
      tasks_.prefer(i, keepers);
  }
  tasks_.balance();
}

std::string node_map_stages::stage_run::why_not(const caf::error& e) const {
  return is_stream_error(e) ? message_of(e) : owner_.self_->system().render(e);
}

std::vector<std::pair<size_t, std::string>>
node_map_stages::stage_run::reach_all() {
  std::vector<std::pair<size_t, std::string>> result;
  for (size_t k = 0; k < addresses_.size(); ++k)
    if (auto node = owner_.reach(addresses_[k]); !node)
      result.emplace_back(k, why_not(node.error()));
  return result;
}

int64_t node_map_stages::stage_run::exclude(size_t k) {
  auto rest = owner_.excluded_.failed(addresses_[k],
                                      node_exclusion::clock::now());
  return std::chrono::duration_cast<std::chrono::seconds>(rest).count();
}

void node_map_stages::stage_run::fail(size_t k, const std::string& why) {
  owner_.nodes_.erase(addresses_[k]);
  auto rest = exclude(k);
  owner_.log_->warn("batch {}: {} tasks on the worker node {} failed, they "
                    "run again elsewhere (the node gets none for {} s): {}",
                    t_, what_, addresses_[k], rest, why);
  tasks_.node_failed(k, why);
}

void node_map_stages::stage_run::release(uint64_t id, const sent_stage& x) {
  if (x.host)
    owner_.self_->send(x.host, release_atom::value, id);
}

void node_map_stages::stage_run::fetch_more() {
  for (const auto& r : fetches_.next())
    owner_.self_->send(out_.stages().at(r.source).host, fetch_atom::value,
                       r.source, r.bucket, r.offset, r.size);
}

void node_map_stages::stage_run::reduce_here(const std::string& why) {
  if (!on_nodes_)
    return;
  on_nodes_ = false;
  reducing_ = false;
  owner_.log_->warn("batch {}: the reduce tasks of stream {} run on the "
                    "driver: {}",
                    t_, where_.stream, why);
  auto [reduces, unheld] = out_.reduce_failed();
  for (const auto& [id, x] : reduces) {
    fetches_.drop(id);
    late_.dropped(id);
    release(id, x);
  }
  for (const auto& [id, sizes] : unheld)
    fetches_.add(id, sizes);
  // (A map task's frame has a header: a fetch is never complete yet.)
  fetch_more();
}

void node_map_stages::stage_run::reduce_done() {
  for (const auto& [id, x] : out_.take_all()) {
    release(id, x);
    for (auto i : x.tasks)
      tasks_.finished(i);
  }
  owner_.log_->debug("batch {}: the {} reduce tasks of stream {} ran on the "
                     "worker nodes",
                     t_, target_.num_partitions(), where_.stream);
}

void node_map_stages::stage_run::took(uint64_t id,
                                      std::vector<std::string> outputs,
                                      came how) {
  auto taken = out_.take(id);
  if (!taken)
    return;
  auto& x = *taken;
  if (how == came::fetched)
    release(id, x);
  auto& node = addresses_[x.node];
  auto came_how = how == came::fetched ? "fetched" : "with the answer";
  if (x.reduce) {
    try {
      for (size_t k = 0; k < x.tasks.size(); ++k)
        target_.add_reduced(x.tasks[k], outputs.at(k));
    } catch (const std::exception& e) {
      reduce_here(std::string{"a reduced partition is malformed: "}
                  + e.what());
      return;
    }
    owner_.log_->debug("batch {}: {} reduce tasks of stream {} ran on the "
                       "worker node {} ({} bytes of records {})",
                       t_, x.tasks.size(), where_.stream, node,
                       total_bytes(outputs), came_how);
    owner_.executors_.completed(node, x.tasks.size());
    reduced_ += x.tasks.size();
    if (reduced_ == target_.num_partitions())
      reduce_done();
    return;
  }
  auto bytes = total_bytes(outputs);
  // A task that another answer finished first (a late node's, or a copy
  // of its tasks') is taken from that answer only.
  auto mine = x.tasks;
  if (outputs.size() == mine.size())
    for (auto j = mine.size(); j-- > 0;)
      if (tasks_.is_finished(mine[j])) {
        mine.erase(mine.begin() + static_cast<ptrdiff_t>(j));
        outputs.erase(outputs.begin() + static_cast<ptrdiff_t>(j));
      }
  auto why = take_(mine, outputs, tasks_);
  if (!why.empty()) {
    fail(x.node, why);
    return;
  }
  owner_.excluded_.succeeded(node);
  owner_.executors_.completed(node, mine.size());
  owner_.log_->debug("batch {}: {} {} tasks of stream {} ran on the worker "
                     "node {} ({} bytes of {} {})",
                     t_, x.tasks.size(), what_, where_.stream, node, bytes,
                     outputs_are_, came_how);
}

void node_map_stages::stage_run::failed(uint64_t id, const std::string& why) {
  auto taken = out_.take(id);
  if (!taken)
    return;
  auto& x = *taken;
  fetches_.drop(id);
  late_.dropped(id);
  release(id, x);
  auto& node = addresses_[x.node];
  // Held buckets count as completed tasks (which a lost node's run
  // again).
  if (!x.held)
    owner_.executors_.failed(node, x.tasks.size());
  // Its tasks run elsewhere already, and its node rests.
  if (x.late) {
    owner_.log_->debug("batch {}: {} tasks on the worker node {}, given up "
                       "on as late, failed: {}",
                       t_, what_, node, why);
    return;
  }
  if (x.reduce) {
    reduce_here("the worker node " + node + " failed: " + why);
    return;
  }
  // The reduce tasks may be reading this node's buckets.
  if (reducing_)
    reduce_here("the worker node " + node + " that holds map outputs failed: "
                + why);
  fail(x.node, why);
  // Its other tasks run elsewhere too: the buckets it holds for them are
  // not needed.
  for (const auto& [j, y] : out_.take_held(x.node))
    release(j, y);
}

// The node's unfinished map tasks run again elsewhere as copies, which
// count as no failure (Spark's speculative tasks), and the node gets none
// for a while. Its stages are not waited for, but an answer of theirs is
// taken if it comes first (`first_answer`). A late reduce stage fails.
void node_map_stages::stage_run::speculate(uint64_t id) {
  auto x = out_.find(id);
  if (x == nullptr || x->late)
    return;
  std::string why = "its answer is late (stream.speculation: the other "
                    "nodes answered sooner)";
  if (x->reduce) {
    failed(id, why);
    return;
  }
  auto k = x->node;
  auto rest = exclude(k);
  owner_.log_->warn("batch {}: {} tasks on the worker node {} run again "
                    "elsewhere (the node gets none for {} s): {}; its answer "
                    "is taken if it comes first",
                    t_, what_, addresses_[k], rest, why);
  tasks_.node_late(k);
  auto [marked, held] = out_.mark_late(k);
  for (const auto& [j, y] : held)
    release(j, y);
  for (auto j : marked) {
    late_.dropped(j);
    owner_.given_up(j, addresses_[k]);
  }
}

// Its answer is taken if no other answer covers one of its tasks yet
// (Spark takes a task's first result), and the copies that run its tasks
// alone are not waited for (their answers are released as they come).
bool node_map_stages::stage_run::first_answer(uint64_t id) {
  auto copies = out_.answered_first(id, tasks_);
  if (!copies)
    return false;
  auto& x = *out_.find(id);
  tasks_.answered_by(x.node, x.tasks);
  owner_.given_up_.erase(id);
  owner_.excluded_.succeeded(addresses_[x.node]);
  for (auto j : *copies)
    late_.dropped(j);
  owner_.log_->info("batch {}: the worker node {} answered its {} {} tasks "
                    "before their copies, after it was given up on as late: "
                    "its answer is taken",
                    t_, addresses_[x.node], x.tasks.size(), what_);
  return true;
}

template <class Atom, class Stage>
caf::actor_addr
node_map_stages::stage_run::send_stage(size_t k, const caf::actor& node,
                                       Atom what, uint64_t id, Stage stage) {
  auto self = owner_.self_;
  if (auto host = owner_.host_of(addresses_[k])) {
    self->send(*host, what, id, std::move(stage),
               caf::actor_cast<caf::actor>(self));
    return host->address();
  }
  self->send(node, what, id, std::move(stage));
  return caf::actor_addr{};
}

void node_map_stages::stage_run::start_reduce() {
  auto stages = owner_.reduce_stages(target_, where_, n_, addresses_,
                                     out_.stages());
  if (stages.empty()) {
    reduce_here("the map outputs on the nodes do not cover the stage");
    return;
  }
  reducing_ = true;
  reduced_ = 0;
  // A reduce stage's answer is late against the other reduce stages'.
  late_ = speculation{owner_.opts_.speculation_multiplier,
                      owner_.opts_.speculation_min_task_runtime};
  for (auto& [k, stage] : stages) {
    auto id = ++owner_.next_id_;
    auto& node = owner_.nodes_.at(addresses_[k]);
    sent_stage x{k, node.address(), stage.shuffle.tasks, true};
    x.via = send_stage(k, node, reduce_tasks_atom::value, id,
                       std::move(stage));
    late_.sent(id, speculation::clock::now(),
               tasks_.rounds(k, x.tasks.size()));
    out_.add(id, std::move(x));
  }
}

void node_map_stages::stage_run::send_tasks(size_t k,
                                            std::vector<uint32_t> mine) {
  auto node = owner_.reach(addresses_[k]);
  if (!node) {
    fail(k, why_not(node.error()));
    return;
  }
  auto id = ++owner_.next_id_;
  // The nodes name a task by the partition it computes.
  auto named = partitions_of(mine, partitions_);
  // A stage that reads other shuffles' partitions may read the inputs'
  // too (a join of a count with the batch's records).
  auto inputs = owner_.inputs_.for_node(
    target_,
    reads_reduced_ ? detail::map_tasks_input_partitions(target_, named)
                   : named,
    own_partitions_, addresses_[k]);
  auto reduced = reads_reduced_ ? reduced_inputs(target_, named)
                                : std::vector<detail::reduced_input>{};
  owner_.log_->debug("batch {}: {} {} tasks of stream {} sent to the worker "
                     "node {} ({} bytes of input)",
                     t_, mine.size(), what_, where_.stream, addresses_[k],
                     stage_inputs::bytes_in(inputs) + bytes_of(reduced));
  auto stage = owner_.stage_of(where_, std::move(named), std::move(inputs));
  stage.reduced = std::move(reduced);
  caf::actor_addr via;
  if (!result_)
    via = send_stage(k, *node, map_tasks_atom::value, id, std::move(stage));
  else if (result_ == result_form::count)
    via = send_stage(k, *node, count_tasks_atom::value, id, std::move(stage));
  else
    via = send_stage(k, *node, result_tasks_atom::value, id,
                     std::move(stage));
  // The node runs them after its tasks sent before that it did not
  // answer yet: those count in their rounds (`speculation`).
  auto queued = mine.size();
  for (const auto& [j, y] : out_.stages())
    if (y.node == k && !y.reduce && !y.held && !y.host && !y.late)
      queued += y.tasks.size();
  late_.sent(id, speculation::clock::now(), tasks_.rounds(k, queued));
  sent_stage x{k, node->address(), std::move(mine)};
  x.via = std::move(via);
  out_.add(id, std::move(x));
}

void node_map_stages::stage_run::offer(size_t k) {
  if (!by_rounds_)
    return;
  auto mine = tasks_.take_round(k);
  if (mine.empty())
    mine = tasks_.steal_round(k);
  if (!mine.empty())
    send_tasks(k, std::move(mine));
}

sent_stage* node_map_stages::stage_run::answer_to(uint64_t id,
                                                 caf::actor host) {
  auto found = out_.find(id);
  if (found == nullptr) {
    owner_.late_answer(id, host);
    return nullptr;
  }
  found->host = std::move(host);
  if (found->late && !first_answer(id)) {
    owner_.late_answer(id, out_.take(id)->host);
    return nullptr;
  }
  late_.answered(id, speculation::clock::now());
  owner_.keep_host(addresses_[found->node], found->host);
  return found;
}

void node_map_stages::stage_run::answered(uint64_t id, caf::actor host,
                                          std::vector<uint64_t>& sizes,
                                          std::vector<uint64_t>& spans) {
  auto found = answer_to(id, std::move(host));
  if (found == nullptr)
    return;
  auto& x = *found;
  if (on_nodes_ && !x.reduce) {
    // The buckets wait on the node for the reduce tasks.
    if (auto why = misfit(target_, x.tasks.size(), spans.size());
        !why.empty()) {
      failed(id, why);
      return;
    }
    auto& node = addresses_[x.node];
    owner_.excluded_.succeeded(node);
    owner_.executors_.completed(node, x.tasks.size());
    owner_.log_->debug("batch {}: {} map tasks of stream {} ran on the "
                       "worker node {} (their buckets stay there)",
                       t_, x.tasks.size(), where_.stream, node);
    x.held = true;
    x.sizes = std::move(sizes);
    x.spans = std::move(spans);
    offer(x.node);
    return;
  }
  // Fetching its outputs is up to the driver.
  auto k = x.node;
  auto reduce = x.reduce;
  fetches_.add(id, sizes);
  if (fetches_.complete(id))
    took(id, fetches_.take(id), came::fetched);
  if (!reduce)
    offer(k);
  fetch_more();
}

void node_map_stages::stage_run::answered(uint64_t id, caf::actor host,
                                          std::vector<std::string>& outputs) {
  auto found = answer_to(id, std::move(host));
  if (found == nullptr)
    return;
  auto k = found->node;
  auto reduce = found->reduce;
  if (on_nodes_ && !reduce) {
    failed(id, "its map tasks' buckets came with its answer, not kept for "
               "the reduce tasks");
    return;
  }
  took(id, std::move(outputs), came::with_answer);
  if (!reduce)
    offer(k);
}

// A node that is lost goes down (the middleman kills its proxy): its
// tasks go elsewhere without waiting for the timeout. A node whose answer
// is late (`stream.speculation.*`), or that does not answer within
// `stream.state-timeout`, fails.
void node_map_stages::stage_run::wait() {
  auto self = owner_.self_;
  const auto& opts = owner_.opts_;
  // When the stages went out or the last message came (this loop's own
  // wake-ups do not count).
  auto progress = deadline::clock::now();
  while (out_.waiting()) {
    // The wait ends when the next answer is late, if that comes first.
    auto wait = deadline::left(progress, deadline::clock::now(),
                               opts.state_timeout);
    auto until_late = late_.until_late(speculation::clock::now());
    speculating_ = false;
    if (opts.speculation && until_late) {
      auto x = std::chrono::duration_cast<duration>(*until_late)
               + duration{1};
      speculating_ = x < wait;
      wait = std::min(wait, x);
    }
    if (auto wake_up = owner_.deadline_.arm(deadline::clock::now(), wait))
      self->delayed_send(self, wait, deadline_atom::value, *wake_up);
    auto woke = false;
    self->receive(
      [&](map_done_atom, uint64_t id, std::vector<uint64_t>& sizes,
          std::vector<uint64_t>& spans) {
        answered(id, caf::actor_cast<caf::actor>(self->current_sender()),
                 sizes, spans);
      },
      [&](map_done_atom, uint64_t id, std::vector<std::string>& outputs) {
        answered(id, caf::actor_cast<caf::actor>(self->current_sender()),
                 outputs);
      },
      [&](chunk_atom, uint64_t id, uint32_t task, uint64_t offset,
          uint64_t size, const std::string& bytes) {
        try {
          if (fetches_.received({id, task, offset, size}, bytes))
            took(id, fetches_.take(id), came::fetched);
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
        auto why = self->system().render(dm.reason);
        if (owner_.forget(dm.source))
          why = "the node was lost: " + why;
        else
          why = "its task host is down" + (dm.reason ? " (" + why + ")" : "");
        for (auto id : out_.sent_to(dm.source))
          failed(id, why);
        fetch_more();
      },
      [&](deadline_atom, uint64_t wake_up) {
        woke = true;
        if (!owner_.deadline_.passed(wake_up, deadline::clock::now()))
          return;
        if (speculating_) {
          for (auto id : late_.late(speculation::clock::now()))
            speculate(id);
          return;
        }
        for (auto id : out_.unanswered())
          failed(id, "no answer within stream.state-timeout ("
                       + to_string(opts.state_timeout) + ")");
      });
    if (!woke)
      progress = deadline::clock::now();
  }
}

void node_map_stages::stage_run::run() {
  while (!tasks_.done()) {
    auto sent_any = false;
    for (size_t r = 0; r < (by_rounds_ ? rounds_ahead : 1); ++r) {
      for (size_t k = 0; k < addresses_.size(); ++k) {
        auto mine = by_rounds_ ? tasks_.take_round(k) : tasks_.take_unsent(k);
        if (mine.empty())
          continue;
        sent_any = true;
        send_tasks(k, std::move(mine));
      }
    }
    // Every map task's buckets wait on the nodes: the reduce tasks go
    // there.
    if (on_nodes_ && !reducing_ && !sent_any && !out_.empty()
        && !out_.waiting())
      start_reduce();
    wait();
    auto local = tasks_.take_for_driver();
    if (!local.empty()) {
      // Their buckets are here: the others come here too.
      reduce_here("map tasks ran on the driver");
      here_(local);
      for (auto i : local)
        tasks_.finished(i);
    }
  }
}

bool node_map_stages::run_stage(
  const detail::rdd_node_base& target, size_t n,
  std::optional<result_form> result,
  detail::function_ref<void(const std::vector<uint32_t>&)> here,
  outputs_taker take, const std::vector<uint32_t>* partitions) {
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
  stage_run stage{*this, target,     n,
                  result, here,       take,
                  partitions, std::move(*where), std::move(addresses)};
  stage.run();
  return true;
}

} // namespace caf_stream::actors
