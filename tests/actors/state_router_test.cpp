#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/state_router.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/testing.hpp"

#include "support/summing_operator.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;
using caf_stream::detail::block_records;
using caf_stream::detail::make_block;

namespace {

using records = std::vector<int64_t>;

using support::summing_operator;

// A router for one summing stream on this node, driven by the test's own
// actor.
struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::actor driver = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int32_t) {}};
  });
  caf::actor router;
  // The keys the stream held after the last call, and the partitions'
  // calls each executor ran in it.
  int64_t keys = -1;
  std::map<std::string, executor_tasks> tasks;

  fixture() {
    auto op = std::make_shared<summing_operator>();
    op->set_state_id(0);
    router = spawn_state_router(sys, op, "graph", testing::default_test_options(),
                                driver);
  }

  ~fixture() {
    self->send_exit(router, caf::exit_reason::user_shutdown);
    self->send_exit(driver, caf::exit_reason::user_shutdown);
  }

  // Sends `call` for batch `t` with one block per partition; returns the
  // outputs' records, or throws the error's text.
  std::vector<records> call(state_call what, int64_t t,
                            const std::vector<records>& in) {
    block_list blocks;
    for (auto& xs : in)
      blocks.push_back(make_block(0, xs));
    std::vector<records> result;
    std::string failure;
    self
      ->request(router, std::chrono::minutes(1), state_atom::value,
                static_cast<uint8_t>(what), caf_stream::time{t * 1000},
                std::move(blocks))
      .receive(
        [&](block_list& out, int64_t n, state_call_report& report) {
          keys = n;
          tasks = report.tasks;
          if (report.failure)
            failure = sys.render(report.failure);
          for (auto& x : out)
            result.push_back(x.data ? *block_records<int64_t>(x) : records{});
        },
        [&](caf::error& e) { failure = sys.render(e); });
    if (!failure.empty())
      throw std::runtime_error(failure);
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a state router gives each partition a holder that "
                          "keeps its state across batches",
                 "[actors][state_router]") {
  using rows = std::vector<records>;
  CHECK(call(state_call::update, 1, {{1, 2}, {10}}) == rows{{3}, {10}});
  CHECK(keys == 2);
  // Each partition's call is a task, of the driver's here.
  CHECK(tasks == std::map<std::string, executor_tasks>{{"driver", {2, 0}}});
  CHECK(call(state_call::update, 2, {{4}, {}}) == rows{{7}, {10}});
  CHECK(keys == 2);
  // A third partition gets a holder of its own, starting empty.
  CHECK(call(state_call::update, 3, {{}, {5}, {6}}) == rows{{7}, {15}, {6}});
  CHECK(keys == 3);
  CHECK(call(state_call::snapshot, 3, {{}, {}, {}}) == rows{{7}, {15}, {6}});
  CHECK(call(state_call::load, 4, {{100}, {}, {}}) == rows{{}, {}, {}});
  CHECK(call(state_call::save, 4, {{}, {}, {}}) == rows{{107}, {15}, {6}});
}

TEST_CASE_METHOD(fixture, "a state router names the partition whose call "
                          "failed, and the others' calls stand",
                 "[actors][state_router]") {
  using rows = std::vector<records>;
  REQUIRE(call(state_call::update, 1, {{1}, {2}}) == rows{{1}, {2}});
  CHECK_THROWS_WITH(call(state_call::update, 2, {{1}, {-1}}),
                    "job_failure: summing, state partition 1: negative input");
  CHECK(tasks == std::map<std::string, executor_tasks>{{"driver", {1, 1}}});
  // The batch again (another job of it) gets the same answer and leaves the
  // state alone; partition 0 applied it once.
  CHECK_THROWS_WITH(call(state_call::update, 2, {{1}, {3}}),
                    "job_failure: summing, state partition 1: negative input");
  CHECK(call(state_call::update, 3, {{1}, {3}}) == rows{{3}, {5}});
  CHECK_THROWS_WITH(call(static_cast<state_call>(9), 4, {{}}),
                    "illegal_state: unknown state call 9");
}

TEST_CASE_METHOD(fixture, "a state router quits when its driver goes down",
                 "[actors][state_router]") {
  REQUIRE(call(state_call::update, 1, {{1}}) == std::vector<records>{{1}});
  self->monitor(router);
  self->send_exit(driver, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](const caf::down_msg& dm) { down = dm.source == router; },
                caf::after(std::chrono::minutes(1)) >> [] {});
  CHECK(down);
}
