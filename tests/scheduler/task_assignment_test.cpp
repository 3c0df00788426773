#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/task_assignment.hpp"

using namespace caf_stream;

using tasks = std::vector<uint32_t>;

TEST_CASE("tasks start round-robin over the nodes and are sent once",
          "[scheduler][tasks]") {
  task_assignment a{5, 2, 4};
  CHECK(a.take_unsent(0) == tasks{0, 2, 4});
  CHECK(a.take_unsent(1) == tasks{1, 3});
  CHECK(a.take_unsent(0).empty());
  CHECK(a.take_for_driver().empty());
  for (uint32_t i = 0; i < 5; ++i) {
    CHECK_FALSE(a.done());
    a.finished(i);
  }
  CHECK(a.done());
  CHECK(a.failed_nodes() == 0);
}

TEST_CASE("tasks start spread in proportion to the nodes' task slots",
          "[scheduler][tasks]") {
  // Node 1 has three times node 0's slots: 2 of 8 tasks and 6 of 8,
  // interleaved.
  task_assignment a{8, std::vector<size_t>{1, 3}, 4};
  CHECK(a.take_unsent(0) == tasks{1, 5});
  CHECK(a.take_unsent(1) == tasks{0, 2, 3, 4, 6, 7});
  // 2, 1 and 1 slots: half of the tasks and a quarter each; a node that
  // reports no slots counts one.
  task_assignment b{4, std::vector<size_t>{2, 1, 0}, 4};
  CHECK(b.take_unsent(0) == tasks{0, 3});
  CHECK(b.take_unsent(1) == tasks{1});
  CHECK(b.take_unsent(2) == tasks{2});
  task_assignment none{2, std::vector<size_t>{}, 4};
  CHECK(none.take_for_driver() == tasks{0, 1});
}

TEST_CASE("a node's tasks are taken round by round, a round its task "
          "slots", "[scheduler][tasks]") {
  // Node 1 has 3 slots and 6 of the 8 tasks, node 0 1 slot and 2.
  task_assignment a{8, std::vector<size_t>{1, 3}, 4};
  CHECK(a.take_round(0) == tasks{1});
  CHECK(a.take_round(1) == tasks{0, 2, 3});
  CHECK(a.take_round(0) == tasks{5});
  CHECK(a.take_round(1) == tasks{4, 6, 7});
  CHECK(a.take_round(0).empty());
  CHECK(a.take_round(1).empty());
  CHECK(a.rounds(1, 6) == 2);
  // A node with no slots takes one task a round; a round after some were
  // taken whole takes the rest.
  task_assignment b{4, std::vector<size_t>{0}, 4};
  CHECK(b.take_round(0) == tasks{0});
  CHECK(b.take_unsent(0) == tasks{1, 2, 3});
  CHECK(b.take_round(0).empty());
}

TEST_CASE("a node that ran its tasks takes a round of the most loaded "
          "node's unsent ones, whose input it may read",
          "[scheduler][tasks]") {
  // Node 0 gets tasks 0, 2, 4, 6 and node 1 tasks 1, 3, 5, 7; task 7's
  // input is kept on node 1 alone.
  task_assignment a{8, 2, 4};
  a.prefer(7, 1);
  CHECK(a.take_round(0) == tasks{0});
  CHECK(a.take_round(1) == tasks{1});
  CHECK(a.take_round(0) == tasks{2});
  CHECK(a.take_round(1) == tasks{3});
  // Node 0 runs faster: its own rounds, then node 1's last task that it
  // may read (not task 7).
  CHECK(a.take_round(0) == tasks{4});
  CHECK(a.take_round(0) == tasks{6});
  CHECK(a.take_round(0).empty());
  CHECK(a.steal_round(0) == tasks{5});
  CHECK(a.steal_round(0).empty());
  CHECK(a.take_round(1) == tasks{7});
  // The most loaded node gives first: node 2 (3 unsent) before node 1 (2),
  // then node 1 on a tie.
  task_assignment b{9, 3, 4};
  CHECK(b.take_unsent(0) == tasks{0, 3, 6});
  CHECK(b.take_round(1) == tasks{1});
  CHECK(b.steal_round(0) == tasks{8});
  CHECK(b.steal_round(0) == tasks{7});
  // A node takes up to its task slots: node 0 (2 slots) got 0, 2, 3, 5
  // and node 1 (1 slot) 1, 4.
  task_assignment c{6, std::vector<size_t>{2, 1}, 4};
  CHECK(c.take_unsent(1) == tasks{1, 4});
  CHECK(c.steal_round(1) == tasks{5});
  CHECK(c.take_round(0) == tasks{0, 2});
  CHECK(c.steal_round(0).empty());
  CHECK(c.take_round(0) == tasks{3});
  // A failed node takes nothing.
  task_assignment d{4, 2, 4};
  d.take_round(1);
  d.node_failed(1, "lost");
  CHECK(d.steal_round(1).empty());
}

TEST_CASE("a failed node's unfinished tasks go to the next node, then to "
          "the driver",
          "[scheduler][tasks]") {
  task_assignment a{6, 3, 4};
  CHECK(a.take_unsent(0) == tasks{0, 3});
  CHECK(a.take_unsent(1) == tasks{1, 4});
  CHECK(a.take_unsent(2) == tasks{2, 5});
  a.finished(1);
  a.node_failed(1, "lost");
  // Task 4 moves to node 2; task 1 had finished.
  CHECK(a.take_unsent(2) == tasks{4});
  a.node_failed(2, "lost");
  // Tasks 2, 4 and 5 move to node 0, the only one left.
  CHECK(a.take_unsent(0) == tasks{2, 4, 5});
  a.node_failed(0, "lost");
  // Every node failed: the driver runs what is left.
  CHECK(a.take_for_driver() == tasks{0, 2, 3, 4, 5});
  CHECK(a.failed_nodes() == 3);
  for (uint32_t i : {0, 2, 3, 4, 5})
    a.finished(i);
  CHECK(a.done());
}

TEST_CASE("a task that failed stream.task.max-failures times fails the "
          "stage",
          "[scheduler][tasks]") {
  task_assignment a{2, 3, 2};
  a.take_unsent(0);
  a.take_unsent(1);
  a.node_failed(0, "lost");
  CHECK(a.take_unsent(1) == tasks{0});
  try {
    a.node_failed(1, "hung");
    FAIL("no error");
  } catch (const stream_error& e) {
    CHECK(e.code() == errc::job_failure);
    CHECK(std::string{e.what()}
          == "task 0 failed 2 times (stream.task.max-failures), last: hung");
  }
}

TEST_CASE("a late node's tasks run again elsewhere as copies, which count "
          "as no failure, and are its again if it answers first",
          "[scheduler][tasks]") {
  // A task fails the stage at its second failure: a copy that counted as
  // one would fail it at the first real one.
  task_assignment a{4, 3, 2};
  CHECK(a.take_unsent(0) == tasks{0, 3});
  CHECK(a.take_unsent(1) == tasks{1});
  CHECK(a.take_unsent(2) == tasks{2});
  a.finished(3);
  a.node_late(0);
  // Task 0 goes to node 1 (task 3 had finished); node 0 gets no more.
  CHECK(a.take_unsent(1) == tasks{0});
  CHECK(a.take_unsent(0).empty());
  CHECK(a.failed_nodes() == 1);
  CHECK_FALSE(a.is_finished(0));
  CHECK(a.is_finished(3));
  // Node 0 answers task 0 before node 1 does: node 1's failure then moves
  // only its own task, whose first failure it is.
  a.answered_by(0, tasks{0});
  a.node_failed(1, "lost");
  CHECK(a.take_unsent(2) == tasks{1});
  CHECK(a.take_unsent(0).empty());
  for (uint32_t i : {0, 1, 2})
    a.finished(i);
  CHECK(a.done());
}

TEST_CASE("without nodes every task runs on the driver",
          "[scheduler][tasks]") {
  task_assignment a{3, 0, 4};
  CHECK(a.take_for_driver() == tasks{0, 1, 2});
  CHECK(a.take_for_driver().empty());
}

TEST_CASE("a task goes to the node that keeps its input, unless that node "
          "failed",
          "[scheduler][tasks]") {
  task_assignment a{4, 2, 4};
  // Tasks 0 and 2 read blocks node 1 keeps; task 3's node is not known.
  a.prefer(0, 1);
  a.prefer(2, 1);
  CHECK(a.take_unsent(0).empty());
  CHECK(a.take_unsent(1) == tasks{0, 1, 2, 3});
  a.node_failed(1, "lost");
  CHECK(a.take_unsent(0) == tasks{0, 1, 2, 3});
  // A failed node gets no task, and a task already sent stays where it is.
  task_assignment b{2, 2, 4};
  b.node_failed(1, "lost");
  b.prefer(0, 1);
  CHECK(b.take_unsent(0) == tasks{0, 1});
  CHECK(b.take_unsent(1).empty());
  b.prefer(0, 0);
  CHECK(b.take_unsent(0).empty());
}

TEST_CASE("balance moves tasks to the other node that keeps their input "
          "until neither node's load is lower with one more task",
          "[scheduler][tasks]") {
  // Six blocks of node 0, each copied to node 1: the last three move.
  task_assignment a{6, 2, 4};
  for (uint32_t i = 0; i < 6; ++i)
    a.prefer(i, {0, 1});
  a.balance();
  CHECK(a.take_unsent(0) == tasks{0, 1, 2});
  CHECK(a.take_unsent(1) == tasks{3, 4, 5});
  // 41 tasks on node 0 against 16 on node 1 (a receiver that stored faster
  // on node 0): 29 against 28.
  task_assignment b{57, 2, 4};
  for (uint32_t i = 0; i < 57; ++i)
    b.prefer(i, i < 41 ? std::vector<size_t>{0, 1} : std::vector<size_t>{1, 0});
  b.balance();
  CHECK(b.take_unsent(0).size() == 29);
  CHECK(b.take_unsent(1).size() == 28);
}

TEST_CASE("balance weighs the nodes' task slots and moves no task that "
          "only one node keeps, that was sent, or to a failed node",
          "[scheduler][tasks]") {
  // Node 0 has 2 slots, node 1 one: of 9 tasks node 1 keeps first, node 0
  // takes 6 (3 rounds each).
  task_assignment a{9, std::vector<size_t>{2, 1}, 4};
  for (uint32_t i = 0; i < 9; ++i)
    a.prefer(i, {1, 0});
  a.balance();
  CHECK(a.take_unsent(0) == tasks{3, 4, 5, 6, 7, 8});
  CHECK(a.take_unsent(1) == tasks{0, 1, 2});
  // Tasks 0-3 only node 0 keeps, 4 and 5 node 0 and node 1, which failed:
  // node 2 gets none.
  task_assignment b{6, 3, 4};
  b.node_failed(1, "lost");
  for (uint32_t i = 0; i < 4; ++i)
    b.prefer(i, 0);
  b.prefer(4, {0, 1});
  b.prefer(5, {0, 1});
  b.balance();
  CHECK(b.take_unsent(0) == tasks{0, 1, 2, 3, 4, 5});
  CHECK(b.take_unsent(2).empty());
  // Tasks that were sent stay where they are.
  task_assignment c{2, 2, 4};
  c.prefer(0, {0, 1});
  c.prefer(1, {0, 1});
  CHECK(c.take_unsent(0) == tasks{0, 1});
  c.balance();
  CHECK(c.take_unsent(1).empty());
}
