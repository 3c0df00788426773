#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"

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
