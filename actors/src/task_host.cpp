#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/task_host.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

#include "block_fetch.hpp"
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

  void run(size_t n, detail::function_ref<void(size_t)> task) override {
    spreader_.run(n, task, batch_);
  }

  block fetch_block(const block& b) override {
    return fetch_kept_block(sys_, b, opts_.shuffle_fetch_chunk,
                            opts_.state_timeout);
  }

private:
  task_spreader& spreader_;
  time batch_;
  caf::actor_system& sys_;
  const stream_options& opts_;
};

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
    bool running = true;
    receive_while(running)(
      [&](map_tasks_atom, uint64_t id, map_stage& stage,
          const caf::actor& driver) { run(id, stage, driver, spreader); },
      [&](fetch_atom, uint64_t id, uint32_t task, uint64_t offset,
          uint64_t size) { fetch(id, task, offset, size); },
      [&](release_atom, uint64_t id) {
        outputs_.erase({caf::actor_cast<caf::actor_addr>(current_sender()),
                        id});
      },
      [&](caf::down_msg& dm) {
        // Its driver is gone: nobody fetches its buckets any more.
        drivers_.erase(dm.source);
        auto i = outputs_.lower_bound({dm.source, 0});
        while (i != outputs_.end() && i->first.first == dm.source)
          i = outputs_.erase(i);
      },
      [&](caf::exit_msg& msg) {
        if (msg.reason != caf::exit_reason::normal)
          running = false;
      });
    for (auto& w : workers)
      send_exit(w, caf::exit_reason::user_shutdown);
  }

  const char* name() const override {
    return "caf_stream.task_host";
  }

private:
  void run(uint64_t id, map_stage& stage, const caf::actor& driver,
           task_spreader& spreader) {
    auto t = stage.batch.batch_time;
    std::string failure;
    try {
      slots_runner runner{spreader, t, system(), opts_};
      auto buckets = graph_->run_map_tasks(
        stage.zero, std::move(stage.batch),
        detail::dstream_graph::stage_location{stage.stream, stage.path},
        stage.tasks, runner);
      log_->debug("ran {} map tasks of stream {} for batch {}",
                  stage.tasks.size(), stage.stream, to_string(t));
      std::vector<uint64_t> sizes;
      for (const auto& b : buckets)
        sizes.push_back(b.size());
      if (drivers_.insert(driver.address()).second)
        monitor(driver);
      outputs_[{driver.address(), id}] = std::move(buckets);
      send(driver, map_done_atom::value, id, std::move(sizes));
      return;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    log_->warn("map tasks of stream {} for batch {} failed: {}", stage.stream,
               to_string(t), failure);
    send(driver, map_failed_atom::value, id, std::move(failure));
  }

  // Answers a driver's fetch of stage `id`'s buckets.
  void fetch(uint64_t id, uint32_t task, uint64_t offset, uint64_t size) {
    auto driver = caf::actor_cast<caf::actor>(current_sender());
    auto i = outputs_.find({driver.address(), id});
    if (i == outputs_.end() || task >= i->second.size()
        || offset + size > i->second[task].size()) {
      send(driver, map_failed_atom::value, id,
           std::string{"this node holds no such map output"});
      return;
    }
    send(driver, chunk_atom::value, id, task, offset, size,
         i->second[task].substr(offset, size));
  }

  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<stage_table> stages_;
  stream_options opts_;
  size_t slots_;
  // The buckets of each stage that ran here, by driver and stage id, until
  // the driver fetched them (or went down).
  std::map<std::pair<caf::actor_addr, uint64_t>, std::vector<std::string>>
    outputs_;
  // The drivers monitored.
  std::set<caf::actor_addr> drivers_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_task_host(caf::actor_system& sys,
                           std::shared_ptr<detail::dstream_graph> graph,
                           const stream_options& opts) {
  return sys.spawn<task_host, caf::detached>(std::move(graph), opts);
}

} // namespace caf_stream::actors
