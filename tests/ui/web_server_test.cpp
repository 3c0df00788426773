#include <catch2/catch.hpp>

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"
#include "caf_stream/ui/web_server.hpp"

#include "support/ui_pipeline.hpp"

using namespace caf_stream;
using json = nlohmann::json;

namespace {

// The inodes of the TCP sockets this process listens on (from /proc).
std::set<std::string> listening_sockets() {
  std::set<std::string> listening;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{table};
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string slot, local, remote, state, queues, timer, retransmit, uid,
        timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer
        >> retransmit >> uid >> timeout >> inode;
      if (state == "0A")
        listening.insert("socket:[" + inode + "]");
    }
  }
  std::set<std::string> result;
  if (auto* dir = ::opendir("/proc/self/fd")) {
    while (auto* entry = ::readdir(dir)) {
      char target[256];
      auto path = std::string{"/proc/self/fd/"} + entry->d_name;
      auto n = ::readlink(path.c_str(), target, sizeof(target) - 1);
      if (n > 0 && listening.count(std::string{target, static_cast<size_t>(n)}))
        result.insert(std::string{target, static_cast<size_t>(n)});
    }
    ::closedir(dir);
  }
  return result;
}

// Gives `ssc` an empty queue stream with an output, and starts it.
void start_idle(streaming_context& ssc) {
  ssc.queue_stream(std::make_shared<rdd_queue<int>>()).foreach_rdd(
    [](const rdd<int>&) {});
  ssc.start();
}

// The checkpoint writes the listeners hear of.
class checkpoint_log final : public streaming_listener {
public:
  void on_checkpoint_written(const checkpoint_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    writes_.push_back(info);
    cv_.notify_all();
  }

  // Waits until the checkpoint of batch `ms` was written (bounded, for a
  // stuck runtime); returns the writes so far.
  std::vector<checkpoint_info> wait_for(int64_t ms) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto written = [&] {
      return !writes_.empty()
             && writes_.back().batch_time.milliseconds() >= ms;
    };
    if (!cv_.wait_for(guard, std::chrono::seconds(120), written))
      throw std::runtime_error("the checkpoint of batch "
                               + std::to_string(ms) + " was not written");
    return writes_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<checkpoint_info> writes_;
};

} // namespace

TEST_CASE("the streaming UI serves the page, Spark's REST API and the "
          "metrics of a running context",
          "[ui]") {
  support::ui_pipeline p{{3, 5, 7}};
  p.run();
  auto url = p.url();
  auto apps = json::parse(support::http_get(url + "api/v1/applications").body);
  REQUIRE(apps.size() == 1);
  auto app = apps[0]["id"].get<std::string>();
  auto base = url + "api/v1/applications/" + app + "/streaming";
  auto stats = json::parse(support::http_get(base + "/statistics").body);
  CHECK(stats["batchDuration"] == 1000);
  CHECK(stats["numTotalCompletedBatches"] == 3);
  CHECK(stats["numProcessedRecords"] == 15);
  CHECK(stats["numReceivers"] == 0);
  auto batches = json::parse(support::http_get(base + "/batches").body);
  REQUIRE(batches.size() == 3);
  std::vector<int64_t> sizes;
  for (auto& b : batches)
    sizes.push_back(b["inputSize"].get<int64_t>());
  // Newest first.
  CHECK(sizes == std::vector<int64_t>{7, 5, 3});
  auto first = std::to_string(p.batches().front().batch_time.milliseconds());
  auto ops = json::parse(
    support::http_get(base + "/batches/" + first + "/operations").body);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0]["outputOpId"] == 0);
  CHECK(ops[0]["name"] == "foreach_rdd");
  CHECK(ops[1]["outputOpId"] == 1);
  CHECK(ops[1]["name"] == "print");
  CHECK(json::parse(support::http_get(base + "/batches/" + first).body)
          ["inputSize"]
        == 3);
  // The executors: the driver alone, with the tasks the batches report
  // (print's take: one task or two a batch).
  auto executors = json::parse(
    support::http_get(url + "api/v1/applications/" + app + "/executors").body);
  REQUIRE(executors.size() == 1);
  CHECK(executors[0]["id"] == "driver");
  CHECK(executors[0]["isActive"] == true);
  int64_t driver_tasks = 0;
  for (const auto& b : p.batches())
    driver_tasks += b.tasks.at("driver").completed;
  CHECK(driver_tasks >= 3);
  CHECK(executors[0]["completedTasks"] == driver_tasks);
  CHECK(executors[0]["failedTasks"] == 0);
  CHECK(json::parse(support::http_get(url + "api/v1/applications/" + app
                                      + "/allexecutors")
                      .body)
        == executors);
  CHECK(support::http_get(url + "api/v1/applications/other/executors").status
        == 404);
  auto page = support::http_get(url);
  CHECK(page.status == 200);
  CHECK(page.body.find("<title>caf-stream: Streaming</title>")
        != std::string::npos);
  auto chart = support::http_get(url + "static/chart.min.js");
  CHECK(chart.body.rfind("/*!\n * Chart.js v3.9.1", 0) == 0);
  auto metrics = support::http_get(url + "metrics").body;
  CHECK(metrics.find("\ncaf_stream_batches_completed_total 3\n")
        != std::string::npos);
  CHECK(support::http_get(url + "api/v1/applications/other/streaming/"
                                "statistics")
          .status
        == 404);
  CHECK(support::http_get(base + "/batches/12345").status == 404);
  CHECK(support::http_get(base + "/receivers/3").status == 404);
  p.context().stop();
  CHECK(support::http_get(url).status == 0);
}

TEST_CASE("a UI whose port another one holds listens on a port after it, "
          "as Spark's moves to 4041",
          "[ui]") {
  auto stats = std::make_shared<ui::streaming_statistics>(
    "local-1", caf_stream::time{0}, duration{1000}, 10);
  ui::web_server first{stats, "127.0.0.1", 0};
  ui::web_server second{stats, "127.0.0.1", first.port()};
  CHECK(second.port() > first.port());
  CHECK(second.port() <= first.port() + 16);
  // Each answers on its own port.
  CHECK(support::http_get(first.url() + "api/v1/applications").status == 200);
  CHECK(support::http_get(second.url() + "api/v1/applications").status
        == 200);
}

TEST_CASE("with the UI off, a context opens no port", "[ui]") {
  auto before = listening_sockets();
  SECTION("turned off") {
    auto opts = testing::default_test_options();
    opts.ui_enabled = false;
    streaming_context ssc{std::chrono::seconds(1), opts,
                          std::make_shared<testing::manual_clock>()};
    start_idle(ssc);
    CHECK_FALSE(ssc.ui_web_url());
    CHECK(listening_sockets() == before);
  }
  SECTION("inside an actor application, unless asked") {
    stream_config cfg;
    caf::actor_system sys{cfg};
    streaming_context ssc{sys, std::chrono::seconds(1),
                          std::make_shared<testing::manual_clock>()};
    start_idle(ssc);
    CHECK_FALSE(ssc.ui_web_url());
    CHECK(listening_sockets() == before);
    ssc.stop();
  }
}

TEST_CASE("a context that owns its actor system serves the UI unless told "
          "not to",
          "[ui]") {
  stream_options opts;
  opts.ui_port = 0;
  auto before = listening_sockets();
  streaming_context ssc{std::chrono::seconds(1), opts,
                        std::make_shared<testing::manual_clock>()};
  start_idle(ssc);
  REQUIRE(ssc.ui_web_url());
  CHECK(ssc.ui_web_url()->rfind("http://127.0.0.1:", 0) == 0);
  CHECK(listening_sockets().size() == before.size() + 1);
  ssc.stop();
  CHECK(listening_sockets() == before);
}

TEST_CASE("the streaming UI shows a state stream's keys per batch and the "
          "checkpoint write times",
          "[ui]") {
  using kv = std::pair<std::string, int>;
  auto clk = std::make_shared<testing::manual_clock>(caf_stream::time{0});
  auto opts = testing::default_test_options();
  opts.ui_enabled = true;
  opts.ui_port = 0;
  testing::temporary_directory dir;
  streaming_context ssc{std::chrono::seconds(1), opts, clk};
  ssc.checkpoint(dir.path());
  std::vector<std::vector<std::string>> words{{"a"}, {"a", "b"}, {"b", "c"}};
  testing::detail::add_test_input(ssc, words, 2)
    .map([](const std::string& w) { return kv{w, 1}; })
    .update_state_by_key(
      [](const std::vector<int>& xs, std::optional<int> n) {
        return std::optional<int>{n.value_or(0) + static_cast<int>(xs.size())};
      })
    .foreach_rdd([](const rdd<kv>&) {});
  // Both listen after the UI's listener, which has seen an event once they
  // have.
  auto batches = std::make_shared<testing::detail::output_collector<kv>>();
  auto writes = std::make_shared<checkpoint_log>();
  ssc.start();
  ssc.add_streaming_listener(batches);
  ssc.add_streaming_listener(writes);
  for (size_t i = 1; i <= words.size(); ++i) {
    clk->advance(std::chrono::seconds(1));
    batches->wait_for_batches(i);
  }
  // Keys after each batch: {a}, {a, b}, {a, b, c}.
  std::vector<std::map<int32_t, int64_t>> keys;
  for (const auto& b : batches->infos())
    keys.push_back(b.state_keys);
  CHECK(keys == std::vector<std::map<int32_t, int64_t>>{{{0, 1}}, {{0, 2}},
                                                        {{0, 3}}});
  auto url = *ssc.ui_web_url();
  auto app = json::parse(
    support::http_get(url + "api/v1/applications").body)[0]["id"]
               .get<std::string>();
  auto listed = json::parse(
    support::http_get(url + "api/v1/applications/" + app
                      + "/streaming/batches")
      .body);
  std::vector<int64_t> listed_keys;
  for (auto& b : listed) {
    REQUIRE(b["stateKeys"].size() == 1);
    CHECK(b["stateKeys"][0]["name"] == "update_state_by_key");
    listed_keys.push_back(b["stateKeys"][0]["numKeys"].get<int64_t>());
  }
  // Newest first.
  CHECK(listed_keys == std::vector<int64_t>{3, 2, 1});
  // The writer skips checkpoints that newer ones supersede when it falls
  // behind, so the last batch's is the one that surely comes.
  auto written = writes->wait_for(3000);
  for (const auto& x : written)
    CHECK_FALSE(x.failure_reason);
  auto metrics = support::http_get(url + "metrics").body;
  CHECK(metrics.find("\ncaf_stream_state_keys{state_stream=\"0\","
                     "operation=\"update_state_by_key\"} 3\n")
        != std::string::npos);
  CHECK(metrics.find("\ncaf_stream_checkpoint_write_seconds_count "
                     + std::to_string(written.size()) + "\n")
        != std::string::npos);
  CHECK(metrics.find("\ncaf_stream_checkpoints_failed_total 0\n")
        != std::string::npos);
  ssc.stop();
}
