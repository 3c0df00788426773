#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/task_host.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/shuffle_store.hpp"
#include "caf_stream/scheduler/fetch_plan.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

#include "block_fetch.hpp"
#include "deadline.hpp"
#include "task_spreader.hpp"

namespace caf_stream::actors {

namespace {

// Runs a stage's tasks on the node's task slots: its operator workers and
// the task host itself.
class slots_runner final : public task_runner {
public:
  slots_runner(task_spreader& spreader, time batch, caf::actor_system& sys,
               const stream_options& opts)
    : spreader_(spreader), batch_(batch), sys_(sys), opts_(opts) {
    // nop
  }

  block fetch_block(const block& b) override {
    return fetch_kept_block(sys_, b, opts_.shuffle_fetch_chunk,
                            opts_.state_timeout);
  }

protected:
  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    spreader_.run(n, task, batch_);
  }

private:
  task_spreader& spreader_;
  time batch_;
  caf::actor_system& sys_;
  const stream_options& opts_;
};

// A fetch of buckets from a peer names the bucket in the low `tag_bits` of
// its tag and the fetching call above them.
constexpr unsigned tag_bits = 32;
constexpr uint64_t tag_mask = (uint64_t{1} << tag_bits) - 1;

// Blocking and detached: a stage may run for long, and CAF 0.17 can hang
// its shutdown on a detached event-based actor (CAF issue 1196).
class task_host final : public caf::blocking_actor {
public:
  task_host(caf::actor_config& cfg,
            std::shared_ptr<detail::dstream_graph> graph,
            stream_options opts)
    : caf::blocking_actor(cfg),
      graph_(std::move(graph)),
      stages_(std::make_shared<stage_table>(
        stage_table::graph_id(graph_->fingerprint()))),
      opts_(std::move(opts)),
      slots_(opts_.resolved().workers),
      log_(detail::logger("node")) {
    // nop
  }

  void act() override {
    // The task host is one slot; the operator workers are the others.
    std::vector<caf::actor> workers;
    for (size_t i = 1; i < slots_; ++i)
      workers.push_back(spawn_operator_worker(system(), stages_));
    task_spreader spreader{this, workers, *stages_, false};
    receive_while(running_)(
      [&](map_tasks_atom, uint64_t id, map_stage& stage,
          const caf::actor& driver) { run(id, stage, driver, spreader); },
      [&](result_tasks_atom, uint64_t id, map_stage& stage,
          const caf::actor& driver) {
        run(id, stage, driver, spreader, result_form::records);
      },
      [&](count_tasks_atom, uint64_t id, map_stage& stage,
          const caf::actor& driver) {
        run(id, stage, driver, spreader, result_form::count);
      },
      [&](reduce_tasks_atom, uint64_t id, reduce_stage& stage,
          const caf::actor& driver) { reduce(id, stage, driver, spreader); },
      [&](fetch_atom, uint64_t id, uint32_t task, uint64_t offset,
          uint64_t size) { fetch(id, task, offset, size); },
      [&](fetch_atom, const caf::actor& driver, uint64_t id, uint32_t task,
          const std::vector<uint64_t>& pieces,
          uint64_t tag) { serve_peer(driver, id, task, pieces, tag); },
      [&](release_atom, uint64_t id) {
        outputs_.erase({caf::actor_cast<caf::actor_addr>(current_sender()),
                        id});
      },
      // A fetch's wake-up that came after the fetch ended.
      [&](deadline_atom, uint64_t) {},
      [&](caf::down_msg& dm) { down(dm.source); },
      [&](caf::exit_msg& msg) { exit(msg); });
    for (auto& w : workers)
      send_exit(w, caf::exit_reason::user_shutdown);
  }

  const char* name() const override {
    return "caf_stream.task_host";
  }

private:
  // Runs a map stage's tasks and keeps their buckets until `driver`
  // fetched them, or with `result` a result stage's, whose partitions'
  // records (or their numbers) go to `driver` (`answer`).
  void run(uint64_t id, map_stage& stage, const caf::actor& driver,
           task_spreader& spreader,
           std::optional<result_form> result = std::nullopt) {
    auto t = stage.batch.batch_time;
    auto what = !result ? "map"
                        : *result == result_form::count ? "count" : "result";
    std::string failure;
    try {
      auto opts = settings_for(stage);
      slots_runner runner{spreader, t, system(), opts};
      graph_->use_driver_parallelism(stage.parallelism);
      detail::dstream_graph::stage_location where{stage.stream, stage.path};
      auto outputs = result ? graph_->run_result_tasks(stage.zero,
                                                       std::move(stage.batch),
                                                       where, stage.tasks,
                                                       runner, *result)
                            : graph_->run_map_tasks(stage.zero,
                                                    std::move(stage.batch),
                                                    where, stage.tasks,
                                                    stage.reduced, runner);
      log_->debug("ran {} {} tasks of stream {} for batch {}",
                  stage.tasks.size(), what, stage.stream, to_string(t));
      if (result) {
        answer(driver, id, std::move(outputs));
        return;
      }
      // Each bucket's place, for the reduce tasks on other nodes.
      std::vector<uint64_t> sizes;
      std::vector<uint64_t> spans;
      for (const auto& x : outputs) {
        sizes.push_back(x.size());
        for (auto [offset, size] : detail::bucket_spans(x)) {
          spans.push_back(offset);
          spans.push_back(size);
        }
      }
      keep(driver, id, std::move(outputs));
      send(driver, map_done_atom::value, id, std::move(sizes),
           std::move(spans));
      return;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    log_->warn("{} tasks of stream {} for batch {} failed: {}", what,
               stage.stream, to_string(t), failure);
    send(driver, map_failed_atom::value, id, std::move(failure));
  }

  // Runs the reduce tasks of stage `x` from the buckets that the nodes of
  // its map tasks keep, fetched here; their records go to `driver` as
  // bytes (`answer`).
  void reduce(uint64_t id, reduce_stage& x, const caf::actor& driver,
              task_spreader& spreader) {
    auto t = x.shuffle.batch.batch_time;
    std::string failure;
    try {
      auto opts = settings_for(x.shuffle);
      auto buckets = fetch_buckets(x, driver, opts.state_timeout);
      slots_runner runner{spreader, t, system(), opts};
      graph_->use_driver_parallelism(x.shuffle.parallelism);
      auto parts = graph_->run_reduce_tasks(
        x.shuffle.zero, std::move(x.shuffle.batch),
        detail::dstream_graph::stage_location{x.shuffle.stream,
                                              x.shuffle.path},
        x.shuffle.tasks, buckets, runner);
      log_->debug("ran {} reduce tasks of stream {} for batch {}",
                  x.shuffle.tasks.size(), x.shuffle.stream, to_string(t));
      answer(driver, id, std::move(parts));
      return;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    log_->warn("reduce tasks of stream {} for batch {} failed: {}",
               x.shuffle.stream, to_string(t), failure);
    send(driver, map_failed_atom::value, id, std::move(failure));
  }

  // This node's settings for a stage of the driver: with the driver's
  // `stream.state-timeout`, which bounds what the stage waits for other
  // nodes (the driver gives the stage up after that).
  stream_options settings_for(const map_stage& stage) const {
    auto result = opts_;
    if (stage.state_timeout_ms > 0)
      result.state_timeout = duration{stage.state_timeout_ms};
    return result;
  }

  // The buckets of stage `x`'s reduce tasks, by task and map task: this
  // node's own from here, the others' from their nodes, in chunks of
  // `stream.shuffle.fetch-chunk` bytes with at most
  // `stream.shuffle.max-in-flight` bytes asked for. Of two nodes, the one
  // whose address sorts first connects to the other; the other fetches
  // through that connection (CAF 0.17 breaks both connections of two nodes
  // that connect to each other at once), or through the driver until it
  // exists. Serves the other nodes' fetches meanwhile (they may be
  // fetching from here). Throws `stream_error` naming a node that is lost,
  // answers an error, or does not answer within `timeout` (the driver's
  // `stream.state-timeout`).
  std::vector<std::vector<std::string>>
  fetch_buckets(const reduce_stage& x, const caf::actor& driver,
                duration timeout) {
    auto n = x.shuffle.tasks.size();
    auto maps = x.holders.size();
    if (x.stages.size() != maps || x.outputs.size() != maps
        || x.spans.size() != 2 * maps * n
        || x.nodes.size() != x.addresses.size()
        || std::any_of(x.holders.begin(), x.holders.end(),
                       [&](uint32_t h) { return h >= x.addresses.size(); })
        || maps * n > tag_mask)
      throw stream_error(errc::invalid_graph,
                         "the reduce stage's map outputs are malformed");
    auto span = [&](size_t m, size_t k) {
      return std::make_pair(x.spans[2 * (m * n + k)],
                            x.spans[2 * (m * n + k) + 1]);
    };
    std::vector<std::vector<std::string>> result(
      n, std::vector<std::string>(maps));
    fetch_plan plan{opts_.shuffle_fetch_chunk, opts_.shuffle_max_in_flight};
    // This node, among the holders: the one whose buckets are here.
    std::optional<uint32_t> here;
    for (size_t m = 0; m < maps && !here; ++m)
      if (outputs_.count({driver.address(), x.stages[m]}))
        here = x.holders[m];
    std::vector<caf::actor> peers(x.addresses.size());
    auto forget_peers = [&] {
      for (const auto& p : peers)
        if (p)
          demonitor(p);
    };
    size_t missing = 0;
    for (size_t m = 0; m < maps; ++m) {
      auto own = outputs_.find({driver.address(), x.stages[m]});
      if (own != outputs_.end()) {
        for (size_t k = 0; k < n; ++k) {
          auto [offset, size] = span(m, k);
          result[k][m] = output_bytes(own->second, x.outputs[m], offset, size);
        }
        continue;
      }
      auto h = x.holders[m];
      if (!peers[h]) {
        try {
          if (here && x.addresses[*here] < x.addresses[h])
            connect_peer(x.addresses[h], x.nodes[h], timeout);
          peers[h] = x.nodes[h];
        } catch (const stream_error&) {
          forget_peers();
          throw;
        }
        monitor(peers[h]);
      }
      std::vector<uint64_t> sizes;
      for (size_t k = 0; k < n; ++k)
        sizes.push_back(span(m, k).second);
      plan.add(m, sizes);
      ++missing;
    }
    auto holder_of = [&](const caf::actor_addr& a) -> std::string {
      for (size_t h = 0; h < peers.size(); ++h)
        if (peers[h] && peers[h].address() == a)
          return x.addresses[h];
      return {};
    };
    // A fetch's tag names this call and the bucket: the answers to an
    // earlier call that failed may still come, and must not count here.
    auto call = ++fetch_calls_ << tag_bits;
    std::string failure;
    // The wait ends `timeout` after the last chunk (serving the other
    // nodes' fetches meanwhile does not count: `deadline`).
    auto progress = deadline::clock::now();
    while (missing > 0 && failure.empty()) {
      // A fetch names its bytes' places in the output, bucket by bucket:
      // one chunk holds many small buckets.
      for (const auto& r : plan.next()) {
        auto m = r.source;
        std::vector<uint64_t> pieces;
        for (const auto& p : plan.parts(r)) {
          pieces.push_back(span(m, p.bucket).first + p.offset);
          pieces.push_back(p.size);
        }
        send(peers[x.holders[m]], fetch_atom::value, driver, x.stages[m],
             x.outputs[m], std::move(pieces), call | (m * n + r.bucket));
      }
      auto wait = deadline::left(progress, deadline::clock::now(), timeout);
      if (auto wake_up = deadline_.arm(deadline::clock::now(), wait))
        delayed_send(this, wait, deadline_atom::value, *wake_up);
      receive(
        [&](chunk_atom, uint64_t tag, uint64_t offset, uint64_t size,
            const std::string& bytes) {
          if ((tag & ~tag_mask) != call)
            return;
          tag &= tag_mask;
          auto m = tag / n;
          auto k = static_cast<uint32_t>(tag % n);
          auto start = span(m, k).first;
          if (m >= maps || offset < start) {
            failure = "a node answered a fetch that was not asked for";
            return;
          }
          progress = deadline::clock::now();
          if (!plan.received({m, k, offset - start, size}, bytes))
            return;
          auto got = plan.take(m);
          for (size_t j = 0; j < n; ++j)
            result[j][m] = std::move(got[j]);
          --missing;
        },
        [&](map_failed_atom, uint64_t tag, std::string& why) {
          if ((tag & ~tag_mask) != call)
            return;
          auto m = (tag & tag_mask) / n;
          failure = "the worker node "
                    + (m < maps ? x.addresses[x.holders[m]] : "?")
                    + " cannot give the buckets of map task "
                    + std::to_string(m) + ": " + why;
        },
        [&](fetch_atom, uint64_t id, uint32_t task, uint64_t offset,
            uint64_t size) { fetch(id, task, offset, size); },
        [&](fetch_atom, const caf::actor& from, uint64_t id, uint32_t task,
            const std::vector<uint64_t>& pieces,
            uint64_t tag) { serve_peer(from, id, task, pieces, tag); },
        [&](caf::down_msg& dm) {
          down(dm.source);
          auto lost = holder_of(dm.source);
          if (!lost.empty())
            failure = "the worker node " + lost + " was lost: "
                      + system().render(dm.reason);
        },
        [&](caf::exit_msg& msg) {
          exit(msg);
          if (!running_)
            failure = "this node stops";
        },
        [&](deadline_atom, uint64_t wake_up) {
          if (deadline_.passed(wake_up, deadline::clock::now()))
            failure = "the worker nodes that keep the map outputs did not "
                      "answer within stream.state-timeout ("
                      + to_string(timeout) + ")";
        });
    }
    forget_peers();
    if (!failure.empty())
      throw stream_error(errc::job_failure,
                         "fetching the buckets of the reduce tasks: "
                           + failure);
    return result;
  }

  // Connects this node to the peer at `address` (over TLS too), whose
  // actor `named` the driver named (`reduce_stage::nodes`), so that the
  // fetches sent to `named` go over the nodes' own connection: CAF 0.17
  // routes to a node directly once connected to it, else through the node
  // that named the actor. Connects again if `named` lives in another
  // process than the one connected (a new process on the address), or if
  // the connection broke (`down`: the peer was frozen past
  // `middleman.connection-timeout`, say, and lives on). Only the node
  // whose address sorts first connects (see `fetch_buckets`).
  void connect_peer(const std::string& address, const caf::actor& named,
                    duration timeout) {
    auto& peer = peers_[address];
    if (peer && peer.node() == named.node())
      return;
    auto bound = std::min(timeout, node_connect_bound);
    auto node = connect_node(this, address, "worker node", bound);
    if (!node)
      throw stream_error(errc::job_failure, message_of(node.error()));
    peer = std::move(*node);
    monitor(peer);
    log_->info("connected to the worker node {} for its buckets", address);
  }

  // Answers `driver` that stage `id` ran, whose outputs all go to the
  // driver (a result or reduce stage's): with the outputs themselves where
  // they fit in one fetch chunk, as Spark sends a task's result with its
  // status up to `spark.task.maxDirectResultSize` (1 MiB, as the chunk);
  // else with their sizes, and keeps them for the driver's fetches.
  void answer(const caf::actor& driver, uint64_t id,
              std::vector<std::string> outputs) {
    uint64_t total = 0;
    for (const auto& x : outputs)
      total += x.size();
    if (total <= opts_.shuffle_fetch_chunk) {
      send(driver, map_done_atom::value, id, std::move(outputs));
      return;
    }
    std::vector<uint64_t> sizes;
    for (const auto& x : outputs)
      sizes.push_back(x.size());
    keep(driver, id, std::move(outputs));
    send(driver, map_done_atom::value, id, std::move(sizes),
         std::vector<uint64_t>{});
  }

  // Keeps stage `id`'s outputs until `driver` fetched them.
  void keep(const caf::actor& driver, uint64_t id,
            std::vector<std::string> outputs) {
    if (drivers_.insert(driver.address()).second)
      monitor(driver);
    outputs_[{driver.address(), id}] = std::move(outputs);
  }

  // Bytes [offset, offset + size) of output `task` of `outputs`; throws
  // `stream_error` if there are no such bytes.
  static std::string output_bytes(const std::vector<std::string>& outputs,
                                  uint32_t task, uint64_t offset,
                                  uint64_t size) {
    if (task >= outputs.size() || offset > outputs[task].size()
        || size > outputs[task].size() - offset)
      throw no_such_output();
    return outputs[task].substr(offset, size);
  }

  // `size` bytes of `outputs` from `offset` in output `task` on, through
  // the next outputs where that one ends (`fetch_plan`); throws
  // `stream_error` if there are no such bytes.
  static std::string output_range(const std::vector<std::string>& outputs,
                                  uint32_t task, uint64_t offset,
                                  uint64_t size) {
    if (task >= outputs.size() || offset > outputs[task].size())
      throw no_such_output();
    std::string result;
    for (auto i = task; result.size() < size; ++i, offset = 0) {
      if (i >= outputs.size())
        throw no_such_output();
      result.append(outputs[i], offset, size - result.size());
    }
    return result;
  }

  // The bytes at `pieces` (offset and size pairs) of output `task` of
  // `outputs`, one after the other; throws `stream_error` if there are no
  // such bytes.
  static std::string output_pieces(const std::vector<std::string>& outputs,
                                   uint32_t task,
                                   const std::vector<uint64_t>& pieces) {
    if (pieces.size() % 2 != 0)
      throw no_such_output();
    std::string result;
    for (size_t j = 0; j < pieces.size(); j += 2)
      result += output_bytes(outputs, task, pieces[j], pieces[j + 1]);
    return result;
  }

  static stream_error no_such_output() {
    return stream_error(errc::job_failure,
                        "this node holds no such map output");
  }

  // Answers a driver's fetch of stage `id`'s outputs.
  void fetch(uint64_t id, uint32_t task, uint64_t offset, uint64_t size) {
    auto driver = caf::actor_cast<caf::actor>(current_sender());
    auto i = outputs_.find({driver.address(), id});
    std::string bytes;
    try {
      if (i == outputs_.end())
        throw no_such_output();
      bytes = output_range(i->second, task, offset, size);
    } catch (const stream_error& e) {
      send(driver, map_failed_atom::value, id, std::string{e.what()});
      return;
    }
    send(driver, chunk_atom::value, id, task, offset, size, std::move(bytes));
  }

  // Answers another node's fetch of `driver`'s stage `id`'s buckets for
  // its reduce tasks (through this node's worker node actor): the bytes at
  // `pieces` of output `task`, answered as the chunk at the first piece's
  // offset.
  void serve_peer(const caf::actor& driver, uint64_t id, uint32_t task,
                  const std::vector<uint64_t>& pieces, uint64_t tag) {
    auto peer = caf::actor_cast<caf::actor>(current_sender());
    auto i = outputs_.find({driver.address(), id});
    try {
      if (i == outputs_.end() || pieces.empty())
        throw no_such_output();
      auto bytes = output_pieces(i->second, task, pieces);
      auto size = bytes.size();
      send(peer, chunk_atom::value, tag, pieces[0], size, std::move(bytes));
    } catch (const stream_error& e) {
      send(peer, map_failed_atom::value, tag, std::string{e.what()});
    }
  }

  void down(const caf::actor_addr& who) {
    for (auto p = peers_.begin(); p != peers_.end();) {
      if (p->second.address() == who) {
        log_->info("lost the connection to the worker node {}: the next "
                   "fetch from it connects again",
                   p->first);
        p = peers_.erase(p);
      } else {
        ++p;
      }
    }
    // Its driver is gone: nobody fetches its outputs any more.
    if (drivers_.erase(who) == 0)
      return;
    auto i = outputs_.lower_bound({who, 0});
    while (i != outputs_.end() && i->first.first == who)
      i = outputs_.erase(i);
  }

  void exit(const caf::exit_msg& msg) {
    if (msg.reason != caf::exit_reason::normal)
      running_ = false;
  }

  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<stage_table> stages_;
  stream_options opts_;
  size_t slots_;
  // The calls of `fetch_buckets` so far, which tag their fetches in the
  // bits above `tag_bits`.
  uint64_t fetch_calls_ = 0;
  // When a fetch of buckets gives up on the nodes that keep them.
  deadline deadline_;
  // The outputs of each stage that ran here (a map stage's buckets, a
  // reduce stage's records), by driver and stage id, until the driver
  // fetched them (or went down).
  std::map<std::pair<caf::actor_addr, uint64_t>, std::vector<std::string>>
    outputs_;
  // The drivers monitored.
  std::set<caf::actor_addr> drivers_;
  // The node actors of the other nodes this one connected to, by address;
  // monitored: one goes when its connection breaks.
  std::map<std::string, caf::actor> peers_;
  bool running_ = true;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_task_host(caf::actor_system& sys,
                           std::shared_ptr<detail::dstream_graph> graph,
                           const stream_options& opts) {
  return sys.spawn<task_host, caf::detached>(std::move(graph), opts);
}

} // namespace caf_stream::actors
