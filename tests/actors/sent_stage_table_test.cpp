#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"

#include "caf_stream/scheduler/task_assignment.hpp"

#include "sent_stage_table.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The bookkeeping of the stages a driver sent to worker nodes
// (`actors/src/sent_stage_table.hpp`), which `node_map_stages` acts on.

namespace {

using ids = std::vector<uint64_t>;
using tasks_of = std::vector<uint32_t>;

// Two node actors and a task host to stand for the nodes' actors: only
// their addresses and whether a stage has a host matter here.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor node_a = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
  caf::actor node_b = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
  caf::actor host = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
  sent_stage_table out;

  ~fixture() {
    for (auto& x : {node_a, node_b, host})
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  // A map stage of `tasks` sent to node 0 (a) or 1 (b).
  sent_stage map_stage(size_t node, tasks_of tasks) const {
    return sent_stage{node, (node == 0 ? node_a : node_b).address(),
                      std::move(tasks)};
  }

  // Stage `id` answered and holds its buckets on its node.
  void hold(uint64_t id, std::vector<uint64_t> sizes) {
    auto x = out.find(id);
    REQUIRE(x != nullptr);
    x->host = host;
    x->held = true;
    x->sizes = std::move(sizes);
  }

  ids in_table() const {
    ids result;
    for (const auto& x : out.stages())
      result.push_back(x.first);
    return result;
  }
};

ids ids_of(const sent_stage_table::taken& xs) {
  ids result;
  for (const auto& x : xs)
    result.push_back(x.first);
  return result;
}

} // namespace

TEST_CASE_METHOD(fixture, "sent stages are waited for until they hold their "
                          "buckets or are late",
                 "[actors][sent_stages]") {
  CHECK(!out.waiting());
  out.add(1, map_stage(0, {0, 1}));
  out.add(2, map_stage(1, {2, 3}));
  CHECK(out.waiting());
  CHECK(out.unanswered() == ids{1, 2});
  CHECK(out.sent_to(node_b.address()) == ids{2});
  hold(1, {10, 20});
  CHECK(out.unanswered() == ids{2});
  out.find(2)->late = true;
  CHECK(!out.waiting());
  CHECK(out.unanswered().empty());
  CHECK(out.take(1)->sizes == std::vector<uint64_t>{10, 20});
  CHECK(!out.take(1));
  CHECK(out.find(1) == nullptr);
  CHECK(ids_of(out.take_all()) == ids{2});
  CHECK(out.empty());
}

TEST_CASE_METHOD(fixture, "a stage sent to a node's task host, or whose "
                          "outputs the host holds, is lost with the host "
                          "and with the node actor",
                 "[actors][sent_stages]") {
  out.add(1, map_stage(0, {0, 1}));
  auto x = map_stage(0, {2, 3});
  x.via = host.address();
  out.add(2, std::move(x));
  out.add(3, map_stage(1, {4}));
  CHECK(out.sent_to(host.address()) == ids{2});
  CHECK(out.sent_to(node_a.address()) == ids{1, 2});
  CHECK(out.sent_to(node_b.address()) == ids{3});
  // Stage 1 went to node a's actor; the host answered it and holds its
  // buckets.
  hold(1, {10, 20});
  CHECK(out.sent_to(host.address()) == ids{1, 2});
}

TEST_CASE_METHOD(fixture, "a failed node's stages that hold buckets are "
                          "taken out",
                 "[actors][sent_stages]") {
  out.add(1, map_stage(0, {0}));
  out.add(2, map_stage(0, {1}));
  out.add(3, map_stage(1, {2}));
  hold(1, {5});
  hold(3, {7});
  CHECK(ids_of(out.take_held(0)) == ids{1});
  CHECK(in_table() == ids{2, 3});
}

TEST_CASE_METHOD(fixture, "when the reduce tasks on the nodes fail, the "
                          "reduce stages go and the held buckets are fetched",
                 "[actors][sent_stages]") {
  out.add(1, map_stage(0, {0}));
  out.add(2, map_stage(1, {1}));
  hold(1, {5, 6});
  hold(2, {7, 8});
  out.add(3, sent_stage{0, node_a.address(), {0, 1}, true});
  out.add(4, sent_stage{1, node_b.address(), {2, 3}, true});
  auto [reduces, unheld] = out.reduce_failed();
  CHECK(ids_of(reduces) == ids{3, 4});
  using sizes = std::vector<uint64_t>;
  CHECK(unheld
        == std::vector<std::pair<uint64_t, sizes>>{{1, {5, 6}}, {2, {7, 8}}});
  CHECK(in_table() == ids{1, 2});
  CHECK(!out.find(1)->held);
  CHECK(out.unanswered() == ids{1, 2});
}

TEST_CASE_METHOD(fixture, "a late node's unanswered map stages become late, "
                          "and those holding buckets are taken out",
                 "[actors][sent_stages]") {
  out.add(1, map_stage(0, {0}));
  out.add(2, map_stage(0, {1}));
  out.add(3, map_stage(0, {2}));
  out.add(4, map_stage(1, {3}));
  out.add(5, sent_stage{0, node_a.address(), {0}, true});
  hold(2, {5});
  // Stage 3 answered and its outputs are being fetched: it stays as it is.
  out.find(3)->host = host;
  auto [marked, held] = out.mark_late(0);
  CHECK(marked == ids{1});
  CHECK(ids_of(held) == ids{2});
  CHECK(in_table() == ids{1, 3, 4, 5});
  CHECK(out.find(1)->late);
  CHECK(!out.find(3)->late);
  CHECK(!out.find(5)->late);
}

TEST_CASE_METHOD(fixture, "a late stage that answers first is taken and its "
                          "copies are dropped",
                 "[actors][sent_stages]") {
  task_assignment tasks{4, 2, 4};
  out.add(1, map_stage(0, {0, 1}));
  out.mark_late(0);
  // The copies of tasks 0 and 1 on node b, and a stage of other tasks.
  out.add(2, map_stage(1, {0}));
  out.add(3, map_stage(1, {1}));
  out.add(4, map_stage(1, {2, 3}));
  out.find(1)->host = host;
  auto copies = out.answered_first(1, tasks);
  REQUIRE(copies);
  CHECK(*copies == ids{2, 3});
  CHECK(in_table() == ids{1, 4});
  CHECK(!out.find(1)->late);
}

TEST_CASE_METHOD(fixture, "a late stage that answers second is not taken",
                 "[actors][sent_stages]") {
  SECTION("a copy answered one of its tasks already") {
    task_assignment tasks{2, 2, 4};
    out.add(1, map_stage(0, {0, 1}));
    out.mark_late(0);
    out.add(2, map_stage(1, {0}));
    out.add(3, map_stage(1, {1}));
    out.find(3)->host = host;
    out.find(1)->host = host;
    CHECK(!out.answered_first(1, tasks));
    CHECK(in_table() == ids{1, 2, 3});
    CHECK(out.find(1)->late);
  }
  SECTION("one of its tasks is finished") {
    task_assignment tasks{2, 2, 4};
    out.add(1, map_stage(0, {0, 1}));
    out.mark_late(0);
    out.add(2, map_stage(1, {0, 1}));
    tasks.finished(1);
    CHECK(!out.answered_first(1, tasks));
    CHECK(in_table() == ids{1, 2});
  }
}
