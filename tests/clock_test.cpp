#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "caf_stream/clock.hpp"
#include "caf_stream/testing/manual_clock.hpp"

using namespace caf_stream;

namespace {

// Collects what timers report, for a test thread to wait on.
struct fired_log {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<int> ids;

  clock::callback add(int id) {
    return [this, id] {
      std::lock_guard<std::mutex> guard{mtx};
      ids.push_back(id);
      cv.notify_all();
    };
  }

  // Waits until `n` timers fired; the timeout guards against a hung test.
  std::vector<int> await(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, std::chrono::seconds(30), [&] { return ids.size() >= n; });
    return ids;
  }
};

} // namespace

TEST_CASE("the system clock fires due timers in time order",
          "[clock]") {
  system_clock clk;
  fired_log log;
  auto t = clk.now();
  // The first timer holds the timer thread until the others are set.
  std::promise<void> set;
  auto all_set = set.get_future().share();
  clk.schedule(t - duration{10}, [all_set] {
    all_set.wait_for(std::chrono::seconds(30));
  });
  // All due already: the order is the times', not the calls'.
  clk.schedule(t - duration{1}, log.add(3));
  clk.schedule(t - duration{3}, log.add(1));
  clk.schedule(t - duration{2}, log.add(2));
  set.set_value();
  CHECK(log.await(3) == std::vector<int>{1, 2, 3});
  CHECK(clk.runs_by_itself());
}

TEST_CASE("a system clock with timers far ahead is destroyed at once",
          "[clock]") {
  fired_log log;
  {
    system_clock clk;
    clk.schedule(clk.now() + std::chrono::hours(1), log.add(1));
    clk.schedule(clk.now() - duration{1}, log.add(2));
    REQUIRE(log.await(1) == std::vector<int>{2});
  }
  CHECK(log.ids == std::vector<int>{2});
}

TEST_CASE("the manual clock fires timers inside advance, at their time",
          "[clock]") {
  testing::manual_clock clk{caf_stream::time{1000}};
  std::vector<std::pair<int, int64_t>> fired;
  auto add = [&](int id) {
    return [&, id] { fired.emplace_back(id, clk.now().milliseconds()); };
  };
  clk.schedule(caf_stream::time{1500}, add(2));
  clk.schedule(caf_stream::time{1200}, add(1));
  clk.schedule(caf_stream::time{900}, add(0));
  CHECK(fired == std::vector<std::pair<int, int64_t>>{{0, 1000}});
  clk.advance(duration{400});
  CHECK(fired == std::vector<std::pair<int, int64_t>>{{0, 1000}, {1, 1200}});
  clk.advance(duration{400});
  CHECK(fired
        == std::vector<std::pair<int, int64_t>>{{0, 1000}, {1, 1200}, {2, 1500}});
  CHECK_FALSE(clk.runs_by_itself());
}
