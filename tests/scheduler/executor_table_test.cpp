#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf_stream/scheduler/executor_table.hpp"

using namespace caf_stream;

namespace {

// An executor change as a line: "+a:1 (2 cores) at 5", "-a:1 at 7 (why),
// added at 5".
std::string line(const executor_info& x) {
  auto at = std::to_string(x.add_time.milliseconds());
  if (x.active)
    return "+" + x.id + " (" + std::to_string(x.total_cores) + " cores) at "
           + at;
  return "-" + x.id + " at "
         + std::to_string(x.remove_time ? x.remove_time->milliseconds() : -1)
         + " (" + x.remove_reason + "), added at " + at;
}

std::vector<std::string> lines(const std::vector<executor_info>& xs) {
  std::vector<std::string> result;
  for (const auto& x : xs)
    result.push_back(line(x));
  return result;
}

using tasks = std::map<std::string, executor_tasks>;

caf_stream::time at(int64_t ms) {
  return caf_stream::time{ms};
}

} // namespace

TEST_CASE("the driver is the first executor, worker nodes are added when "
          "reached and removed when lost",
          "[scheduler][executors]") {
  executor_table x{2};
  CHECK(lines(x.take_changes(at(0))) == std::vector<std::string>{
          "+driver (2 cores) at 0"});
  CHECK(x.take_changes(at(100)).empty());
  x.reached("a:1", 4);
  x.reached("b:1", 1);
  // Reached again while active: its slots change, it is not added again.
  x.reached("a:1", 3);
  CHECK(lines(x.take_changes(at(1000))) == std::vector<std::string>{
          "+a:1 (4 cores) at 1000", "+b:1 (1 cores) at 1000"});
  CHECK(x.active().at("a:1").total_cores == 3);
  x.lost("a:1", "the node was lost");
  // Lost again, or never reached: nothing.
  x.lost("a:1", "twice");
  x.lost("c:1", "unknown");
  CHECK(lines(x.take_changes(at(2000))) == std::vector<std::string>{
          "-a:1 at 2000 (the node was lost), added at 1000"});
  CHECK(x.active().count("a:1") == 0);
  CHECK(x.active().size() == 2);
}

TEST_CASE("a worker node lost and reached again between two takes comes "
          "as each change",
          "[scheduler][executors]") {
  executor_table x{1};
  x.take_changes(at(0));
  x.reached("a:1", 2);
  x.lost("a:1", "gone");
  x.reached("a:1", 2);
  CHECK(lines(x.take_changes(at(3000))) == std::vector<std::string>{
          "+a:1 (2 cores) at 3000", "-a:1 at 3000 (gone), added at 3000",
          "+a:1 (2 cores) at 3000"});
  x.lost("a:1", "gone again");
  CHECK(lines(x.take_changes(at(4000))) == std::vector<std::string>{
          "-a:1 at 4000 (gone again), added at 3000"});
}

TEST_CASE("the tasks each executor ran add up until they are taken",
          "[scheduler][executors]") {
  executor_table x{2};
  x.completed("driver", 3);
  x.completed("a:1", 2);
  x.completed("a:1", 2);
  x.failed("b:1", 2);
  x.completed("b:1", 0);
  x.failed("driver", 0);
  CHECK(x.take_tasks()
        == tasks{{"a:1", {4, 0}}, {"b:1", {0, 2}}, {"driver", {3, 0}}});
  CHECK(x.take_tasks().empty());
  x.failed("driver", 1);
  CHECK(x.take_tasks() == tasks{{"driver", {0, 1}}});
}
