#include <catch2/catch.hpp>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

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
