#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/task_host.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"

namespace caf_stream::actors {

namespace {

// Blocking and detached: a stage may run for long, and CAF 0.17 can hang
// its shutdown on a detached event-based actor (CAF issue 1196).
class task_host final : public caf::blocking_actor {
public:
  task_host(caf::actor_config& cfg,
            std::shared_ptr<detail::dstream_graph> graph)
    : caf::blocking_actor(cfg),
      graph_(std::move(graph)),
      log_(detail::logger("node")) {
    // nop
  }

  void act() override {
    bool running = true;
    receive_while(running)(
      [&](map_tasks_atom, uint64_t id, map_stage& stage,
          const caf::actor& driver) { run(id, stage, driver); },
      [&](caf::exit_msg& msg) {
        if (msg.reason != caf::exit_reason::normal)
          running = false;
      });
  }

  const char* name() const override {
    return "caf_stream.task_host";
  }

private:
  void run(uint64_t id, map_stage& stage, const caf::actor& driver) {
    auto t = stage.batch.batch_time;
    std::string failure;
    try {
      auto buckets = graph_->run_map_tasks(
        stage.zero, std::move(stage.batch),
        detail::dstream_graph::stage_location{stage.stream, stage.path},
        stage.tasks);
      log_->debug("ran {} map tasks of stream {} for batch {}",
                  stage.tasks.size(), stage.stream, to_string(t));
      send(driver, map_done_atom::value, id, std::move(buckets));
      return;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    log_->warn("map tasks of stream {} for batch {} failed: {}", stage.stream,
               to_string(t), failure);
    send(driver, map_failed_atom::value, id, std::move(failure));
  }

  std::shared_ptr<detail::dstream_graph> graph_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_task_host(caf::actor_system& sys,
                           std::shared_ptr<detail::dstream_graph> graph) {
  return sys.spawn<task_host, caf::detached>(std::move(graph));
}

} // namespace caf_stream::actors
