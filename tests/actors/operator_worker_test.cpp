#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/operator_worker.hpp"
#include "caf_stream/actors/stage_table.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/through_bytes.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The job scheduler runs the tasks of a stage that no worker has started:
// a worker must run only the tasks it claims, and answer only for those.

TEST_CASE("an operator worker runs only the tasks it claims",
          "[actors][worker]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto worker = spawn_operator_worker(sys);
  caf::scoped_actor self{sys};
  std::vector<int> ran(4, 0);
  auto task = [&](size_t i) {
    ++ran[i];
    if (i == 1)
      throw std::runtime_error("task 1 failed");
  };
  auto batch = std::make_shared<task_batch>(7, task, 4);
  // The scheduler took tasks 2 and 3 before the worker got to them.
  REQUIRE(batch->claim(3));
  REQUIRE(batch->claim(2));
  for (size_t i = 0; i < 4; ++i)
    self->send(worker, run_task_atom::value, task_ref{batch, i});
  // A later stage: its answer comes after anything the first one sent.
  auto last = [](size_t) {};
  auto next = std::make_shared<task_batch>(8, last, 1);
  self->send(worker, run_task_atom::value, task_ref{next, 0});
  std::vector<uint64_t> answers;
  while (answers.empty() || answers.back() != 8)
    self->receive([&](task_done_atom, uint64_t id) { answers.push_back(id); });
  CHECK(answers == std::vector<uint64_t>{7, 7, 8});
  CHECK(ran == std::vector<int>{1, 1, 0, 0});
  // The exception stays with its stage, the claims with their tasks.
  REQUIRE(batch->error);
  CHECK_THROWS_WITH(std::rethrow_exception(batch->error), "task 1 failed");
  CHECK_FALSE(batch->claim(0));
  CHECK_FALSE(next->error);
  bool more = false;
  self->receive([&](task_done_atom, uint64_t) { more = true; },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK_FALSE(more);
}

TEST_CASE("an operator worker finds a task that came as bytes by its "
          "stage's name",
          "[actors][worker]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto stages = std::make_shared<stage_table>(42);
  auto worker = spawn_operator_worker(sys, stages);
  caf::scoped_actor self{sys};
  std::vector<int> ran(3, 0);
  auto task = [&](size_t i) { ++ran[i]; };
  auto batch = std::make_shared<task_batch>(7, task, 3);
  scoped_stage registered{*stages, batch};
  // Task `i` named as (graph, stage), written to bytes and read back.
  auto named = [&](uint64_t graph, uint64_t stage, size_t i) {
    return through_bytes(sys, task_ref{batch, i, graph, stage,
                                       caf_stream::time{1000}});
  };
  auto first = named(42, 7, 0);
  CHECK(first.batch == nullptr);
  CHECK(first.index == 0);
  CHECK(first.graph == 42);
  CHECK(first.stage == 7);
  CHECK(first.batch_time == caf_stream::time{1000});
  self->send(worker, run_task_atom::value, first);
  // Another program's graph, and a stage this node does not run: the
  // worker leaves them alone.
  self->send(worker, run_task_atom::value, named(41, 7, 1));
  self->send(worker, run_task_atom::value, named(42, 8, 1));
  self->send(worker, run_task_atom::value, named(42, 7, 2));
  std::vector<uint64_t> answers;
  while (answers.size() < 2)
    self->receive([&](task_done_atom, uint64_t id) { answers.push_back(id); },
                  caf::after(std::chrono::minutes(1)) >>
                    [] { FAIL("no answer"); });
  CHECK(answers == std::vector<uint64_t>{7, 7});
  CHECK(ran == std::vector<int>{1, 0, 1});
  bool more = false;
  self->receive([&](task_done_atom, uint64_t) { more = true; },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK_FALSE(more);
}

TEST_CASE("a stage table names the stages running on its node",
          "[actors][worker]") {
  // FNV-1a's published test vectors: the same name in every process.
  CHECK(stage_table::graph_id("") == 0xcbf29ce484222325ull);
  CHECK(stage_table::graph_id("a") == 0xaf63dc4c8601ec8cull);
  stage_table stages{5};
  auto nop = [](size_t) {};
  auto a = std::make_shared<task_batch>(1, nop, 1);
  auto b = std::make_shared<task_batch>(2, nop, 1);
  {
    scoped_stage ra{stages, a};
    scoped_stage rb{stages, b};
    CHECK(stages.size() == 2);
    CHECK(stages.find(5, 1) == a);
    CHECK(stages.find(5, 2) == b);
    CHECK(stages.find(5, 3) == nullptr);
    CHECK(stages.find(6, 1) == nullptr);
  }
  CHECK(stages.size() == 0);
  CHECK(stages.find(5, 1) == nullptr);
}
