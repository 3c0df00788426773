#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "caf_stream/ui/prometheus.hpp"
#include "caf_stream/ui/streaming_statistics.hpp"

using namespace caf_stream;
using json = nlohmann::json;

namespace {

caf_stream::time at(int64_t ms) {
  return caf_stream::time{ms};
}

// A batch of `records` at `t` ms (1 s interval) that waited `wait` ms and
// ran `run` ms, with one output operation per name.
batch_info batch(int64_t t, int64_t records, int64_t wait, int64_t run,
                 std::vector<std::string> ops = {"print"}) {
  batch_info x;
  x.batch_time = at(t);
  x.num_records = records;
  x.stream_records = {{0, records}};
  x.batch_interval = duration{1000};
  x.submission_time = at(t);
  x.processing_start_time = at(t + wait);
  x.processing_end_time = at(t + wait + run);
  size_t id = 0;
  for (auto& name : ops) {
    output_operation_info op;
    op.batch_time = x.batch_time;
    op.id = id++;
    op.name = name;
    op.start_time = at(t + wait);
    op.end_time = at(t + wait + run);
    x.output_operations.push_back(op);
  }
  return x;
}

std::unique_ptr<ui::streaming_statistics> make_stats(size_t retained = 1000) {
  auto stats = std::make_unique<ui::streaming_statistics>(
    "local-1", at(0), duration{1000}, retained);
  stats->add_receiver(0, "socket_text_stream");
  return stats;
}

// Prometheus' text format read back: family types and each sample's value
// by its full name with labels.
struct metrics {
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> samples;

  explicit metrics(const std::string& text) {
    std::istringstream in{text};
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# TYPE ", 0) == 0) {
        auto rest = line.substr(7);
        auto space = rest.find(' ');
        types[rest.substr(0, space)] = rest.substr(space + 1);
      } else if (!line.empty() && line[0] != '#') {
        auto space = line.rfind(' ');
        samples[line.substr(0, space)] = line.substr(space + 1);
      }
    }
  }
};

using buckets = std::vector<std::pair<std::string, std::string>>;

// Checks the cumulative buckets of histogram `name`: each `le` bound's count.
void check_buckets(metrics& m, const std::string& name,
                   const buckets& expected) {
  for (const auto& [le, n] : expected) {
    INFO(name << " le=" << le);
    CHECK(m.samples[name + "_bucket{le=\"" + le + "\"}"] == n);
  }
}

} // namespace

TEST_CASE("streaming_statistics answers Spark's REST API from the listener's "
          "events",
          "[ui]") {
  auto owned = make_stats();
  auto& stats = *owned;
  auto b1 = batch(1000, 100, 0, 200);
  auto b2 = batch(2000, 300, 100, 500, {"print", "foreach_rdd"});
  stats.on_batch_submitted(b1);
  stats.on_batch_started(b1);
  stats.on_batch_completed(b1);
  stats.on_batch_submitted(b2);
  stats.on_batch_started(b2);
  stats.on_batch_completed(b2);
  auto b3 = batch(3000, 50, 0, 0);
  b3.processing_start_time.reset();
  b3.processing_end_time.reset();
  b3.output_operations.clear();
  stats.on_batch_submitted(b3);
  receiver_info r;
  r.stream_id = 0;
  r.name = "socket_text_stream";
  r.active = true;
  stats.on_receiver_started(r);
  auto s = json::parse(stats.statistics_json());
  CHECK(s["startTime"] == "1970-01-01T00:00:00.000GMT");
  CHECK(s["batchDuration"] == 1000);
  CHECK(s["numReceivers"] == 1);
  CHECK(s["numActiveReceivers"] == 1);
  CHECK(s["numTotalCompletedBatches"] == 2);
  CHECK(s["numRetainedCompletedBatches"] == 2);
  CHECK(s["numActiveBatches"] == 1);
  CHECK(s["numProcessedRecords"] == 400);
  CHECK(s["numReceivedRecords"] == 450);
  // (100 + 300) records/s over two batches; delays (0 + 100) / 2, ...
  CHECK(s["avgInputRate"] == 200.0);
  CHECK(s["avgSchedulingDelay"] == 50.0);
  CHECK(s["avgProcessingTime"] == 350.0);
  CHECK(s["avgTotalDelay"] == 400.0);
  auto batches = json::parse(stats.batches_json());
  REQUIRE(batches.size() == 3);
  CHECK(batches[0]["batchId"] == 3000);
  CHECK(batches[0]["status"] == "QUEUED");
  CHECK(batches[1]
        == json{{"batchId", 2000},
                {"batchTime", "1970-01-01T00:00:02.000GMT"},
                {"status", "COMPLETED"},
                {"batchDuration", 1000},
                {"inputSize", 300},
                {"schedulingDelay", 100},
                {"processingTime", 500},
                {"totalDelay", 600},
                {"numActiveOutputOps", 0},
                {"numCompletedOutputOps", 2},
                {"numFailedOutputOps", 0},
                {"numTotalOutputOps", 2}});
  CHECK(batches[2]["batchId"] == 1000);
  CHECK(json::parse(stats.batches_json("COMPLETED")).size() == 2);
  CHECK(json::parse(stats.batches_json("QUEUED")).size() == 1);
  CHECK(json::parse(*stats.batch_json(1000))["inputSize"] == 100);
  CHECK_FALSE(stats.batch_json(4000));
  auto ops = json::parse(*stats.operations_json(2000));
  REQUIRE(ops.size() == 2);
  CHECK(ops[1]
        == json{{"outputOpId", 1},
                {"name", "foreach_rdd"},
                {"description", "foreach_rdd"},
                {"startTime", "1970-01-01T00:00:02.100GMT"},
                {"endTime", "1970-01-01T00:00:02.600GMT"},
                {"duration", 500}});
  auto receivers = json::parse(stats.receivers_json());
  REQUIRE(receivers.size() == 1);
  CHECK(receivers[0]["streamName"] == "socket_text_stream");
  CHECK(receivers[0]["isActive"] == true);
  CHECK(receivers[0]["avgEventRate"] == 200.0);
  CHECK(receivers[0]["eventRates"] == json{{1000, 100.0}, {2000, 300.0}});
  CHECK_FALSE(stats.receiver_json(7));
  CHECK(json::parse(stats.applications_json())[0]["id"] == "local-1");
}

TEST_CASE("streaming_statistics keeps the last retained batches and a "
          "receiver's last error",
          "[ui]") {
  auto owned = make_stats(2);
  auto& stats = *owned;
  for (int64_t t = 1; t <= 5; ++t)
    stats.on_batch_completed(batch(t * 1000, t, 0, 10));
  auto failed = batch(6000, 0, 0, 10);
  failed.failure_reason = "job 0 of batch 6000 ms failed: boom";
  failed.output_operations[0].failure_reason = "boom";
  stats.on_batch_completed(failed);
  auto batches = json::parse(stats.batches_json());
  REQUIRE(batches.size() == 2);
  CHECK(batches[0]["batchId"] == 6000);
  CHECK(batches[0]["numFailedOutputOps"] == 1);
  CHECK(batches[0]["firstFailureReason"]
        == "job 0 of batch 6000 ms failed: boom");
  CHECK(batches[1]["batchId"] == 5000);
  auto s = json::parse(stats.statistics_json());
  CHECK(s["numTotalCompletedBatches"] == 6);
  CHECK(s["numRetainedCompletedBatches"] == 2);
  receiver_info r;
  r.stream_id = 0;
  r.name = "socket_text_stream";
  r.active = false;
  r.last_error = "error connecting to localhost:9999: refused";
  r.last_error_time = at(6500);
  r.rate_limit = 250;
  stats.on_receiver_error(r);
  auto receiver = json::parse(*stats.receiver_json(0));
  CHECK(receiver["isActive"] == false);
  CHECK(receiver["lastErrorTime"] == "1970-01-01T00:00:06.500GMT");
  CHECK(receiver["lastErrorMessage"]
        == "error connecting to localhost:9999: refused");
  CHECK(receiver["rateLimit"] == 250.0);
}

TEST_CASE("streaming_statistics writes Prometheus metrics with cumulative "
          "buckets",
          "[ui]") {
  auto owned = make_stats();
  auto& stats = *owned;
  stats.add_receiver(1, "receiver_stream \"q\"\\x");
  // Processing times 0.004, 0.2, 0.2 and 70 s.
  stats.on_batch_completed(batch(1000, 10, 0, 4));
  stats.on_batch_completed(batch(2000, 20, 0, 200));
  stats.on_batch_completed(batch(3000, 30, 0, 200));
  auto slow = batch(4000, 40, 0, 70000);
  slow.failure_reason = "failed";
  stats.on_batch_completed(slow);
  receiver_info r;
  r.stream_id = 0;
  r.name = "socket_text_stream";
  r.active = true;
  r.rate_limit = 1500.5;
  stats.on_receiver_rate_updated(r);
  metrics m{stats.metrics_text()};
  CHECK(m.types["caf_stream_batches_completed_total"] == "counter");
  CHECK(m.types["caf_stream_batch_processing_seconds"] == "histogram");
  CHECK(m.types["caf_stream_receiver_rate_limit"] == "gauge");
  CHECK(m.samples["caf_stream_batches_completed_total"] == "4");
  CHECK(m.samples["caf_stream_batches_failed_total"] == "1");
  CHECK(m.samples["caf_stream_batches_active"] == "0");
  CHECK(m.samples[R"(caf_stream_records_received_total{stream="0",name="socket_text_stream"})"]
        == "100");
  // The label escapes '"' and '\'.
  CHECK(m.samples[R"(caf_stream_receiver_active{stream="1",name="receiver_stream \"q\"\\x"})"]
        == "0");
  CHECK(m.samples[R"(caf_stream_receiver_rate_limit{stream="0",name="socket_text_stream"})"]
        == "1500.5");
  CHECK(m.samples[R"(caf_stream_receiver_input_rate{stream="0",name="socket_text_stream"})"]
        == "40");
  check_buckets(m, "caf_stream_batch_processing_seconds",
                {{"0.005", "1"}, {"0.01", "1"}, {"0.025", "1"}, {"0.05", "1"},
                 {"0.1", "1"},   {"0.25", "3"}, {"0.5", "3"},   {"1", "3"},
                 {"2.5", "3"},   {"5", "3"},    {"10", "3"},    {"30", "3"},
                 {"60", "3"},    {"+Inf", "4"}});
  CHECK(m.samples["caf_stream_batch_processing_seconds_count"] == "4");
  CHECK(std::stod(m.samples["caf_stream_batch_processing_seconds_sum"])
        == Approx(70.404));
}

TEST_CASE("streaming_statistics shows each state stream's keys and the "
          "checkpoint write times",
          "[ui]") {
  auto owned = make_stats();
  auto& stats = *owned;
  stats.add_state_stream(0, "update_state_by_key");
  stats.add_state_stream(1, "map_with_state");
  auto b1 = batch(1000, 10, 0, 4);
  b1.state_keys = {{0, 4}, {1, 2}};
  auto b2 = batch(2000, 10, 0, 4);
  b2.state_keys = {{0, 6}, {1, 1}};
  stats.on_batch_completed(b1);
  stats.on_batch_completed(b2);
  // Write times 0.3 ms, 4 ms and 2 s, the last one failed.
  auto write = [&](int64_t t, int64_t micros, const char* failure) {
    checkpoint_info x;
    x.batch_time = at(t);
    x.write_time = std::chrono::microseconds{micros};
    if (failure != nullptr)
      x.failure_reason = failure;
    stats.on_checkpoint_written(x);
  };
  write(1000, 300, nullptr);
  write(2000, 4000, nullptr);
  write(3000, 2000000, "disk full");
  auto batches = json::parse(stats.batches_json());
  REQUIRE(batches.size() == 2);
  CHECK(batches[0]["stateKeys"]
        == json::parse(R"([{"stateStreamId": 0, "name": "update_state_by_key",
                             "numKeys": 6},
                            {"stateStreamId": 1, "name": "map_with_state",
                             "numKeys": 1}])"));
  CHECK(batches[1]["stateKeys"][0]["numKeys"] == 4);
  // A batch without state streams has no sizes.
  auto plain = make_stats();
  plain->on_batch_completed(batch(1000, 10, 0, 4));
  CHECK_FALSE(json::parse(plain->batches_json())[0].contains("stateKeys"));
  metrics m{stats.metrics_text()};
  CHECK(m.types["caf_stream_state_keys"] == "gauge");
  CHECK(m.samples[R"(caf_stream_state_keys{state_stream="0",operation="update_state_by_key"})"]
        == "6");
  CHECK(m.samples[R"(caf_stream_state_keys{state_stream="1",operation="map_with_state"})"]
        == "1");
  CHECK(m.types["caf_stream_checkpoint_write_seconds"] == "histogram");
  check_buckets(m, "caf_stream_checkpoint_write_seconds",
                {{"0.0005", "1"}, {"0.001", "1"}, {"0.0025", "1"},
                 {"0.005", "2"},  {"0.01", "2"},  {"0.025", "2"},
                 {"0.05", "2"},   {"0.1", "2"},   {"0.25", "2"},
                 {"0.5", "2"},    {"1", "2"},     {"2.5", "3"},
                 {"+Inf", "3"}});
  CHECK(m.samples["caf_stream_checkpoint_write_seconds_count"] == "3");
  CHECK(std::stod(m.samples["caf_stream_checkpoint_write_seconds_sum"])
        == Approx(2.0043));
  CHECK(m.types["caf_stream_checkpoints_failed_total"] == "counter");
  CHECK(m.samples["caf_stream_checkpoints_failed_total"] == "1");
}

TEST_CASE("streaming_statistics lists the executors with the tasks each "
          "ran (Spark's executors API and Executors tab)",
          "[ui][executors]") {
  auto owned = make_stats();
  auto& stats = *owned;
  auto executor = [](std::string id, size_t cores, int64_t added) {
    executor_info x;
    x.id = std::move(id);
    x.total_cores = cores;
    x.add_time = at(added);
    return x;
  };
  stats.on_executor_added(executor("driver", 2, 0));
  stats.on_executor_added(executor("127.0.0.1:7001", 4, 1000));
  auto b1 = batch(1000, 10, 0, 10);
  b1.tasks = {{"driver", {3, 0}}, {"127.0.0.1:7001", {7, 0}}};
  stats.on_batch_completed(b1);
  auto lost = executor("127.0.0.1:7001", 4, 1000);
  lost.active = false;
  lost.remove_time = at(2500);
  lost.remove_reason = "the node went down";
  stats.on_executor_removed(lost);
  auto b2 = batch(2000, 10, 0, 10);
  b2.tasks = {{"driver", {5, 0}}, {"127.0.0.1:7001", {0, 2}}};
  stats.on_batch_completed(b2);
  // The node again, on its address: a row of its own.
  stats.on_executor_added(executor("127.0.0.1:7001", 4, 3000));
  auto b3 = batch(3000, 10, 0, 10);
  b3.tasks = {{"127.0.0.1:7001", {4, 0}}};
  stats.on_batch_completed(b3);
  auto all = json::parse(stats.executors_json(true));
  REQUIRE(all.size() == 3);
  CHECK(all[0] == json{{"id", "driver"}, {"isActive", true},
                       {"totalCores", 2}, {"maxTasks", 2},
                       {"completedTasks", 8}, {"failedTasks", 0},
                       {"totalTasks", 8},
                       {"addTime", "1970-01-01T00:00:00.000GMT"}});
  CHECK(all[1] == json{{"id", "127.0.0.1:7001"},
                       {"hostPort", "127.0.0.1:7001"},
                       {"isActive", false},
                       {"totalCores", 4},
                       {"maxTasks", 4},
                       {"completedTasks", 7},
                       {"failedTasks", 2},
                       {"totalTasks", 9},
                       {"addTime", "1970-01-01T00:00:01.000GMT"},
                       {"removeTime", "1970-01-01T00:00:02.500GMT"},
                       {"removeReason", "the node went down"}});
  CHECK(all[2]["isActive"] == true);
  CHECK(all[2]["completedTasks"] == 4);
  CHECK(all[2]["addTime"] == "1970-01-01T00:00:03.000GMT");
  // The active ones only.
  auto active = json::parse(stats.executors_json(false));
  REQUIRE(active.size() == 2);
  CHECK(active[0]["id"] == "driver");
  CHECK(active[1]["completedTasks"] == 4);
  // The metrics count by executor id, across its rows.
  metrics m{stats.metrics_text()};
  CHECK(m.types["caf_stream_executor_tasks_total"] == "counter");
  CHECK(m.types["caf_stream_executor_active"] == "gauge");
  CHECK(m.samples[R"(caf_stream_executor_tasks_total{executor="127.0.0.1:7001",state="completed"})"]
        == "11");
  CHECK(m.samples[R"(caf_stream_executor_tasks_total{executor="127.0.0.1:7001",state="failed"})"]
        == "2");
  CHECK(m.samples[R"(caf_stream_executor_tasks_total{executor="driver",state="completed"})"]
        == "8");
  CHECK(m.samples[R"(caf_stream_executor_active{executor="127.0.0.1:7001"})"]
        == "1");
  // The last 100 removed ones stay (Spark's spark.ui.retainedDeadExecutors):
  // the node's first row is the oldest and goes first.
  for (int i = 0; i < 100; ++i) {
    auto id = "10.0.0." + std::to_string(i) + ":7001";
    stats.on_executor_added(executor(id, 1, 4000));
    auto x = executor(id, 1, 4000);
    x.active = false;
    x.remove_time = at(5000);
    stats.on_executor_removed(x);
  }
  all = json::parse(stats.executors_json(true));
  REQUIRE(all.size() == 102);
  CHECK(all[0]["id"] == "driver");
  CHECK(all[1]["id"] == "127.0.0.1:7001");
  CHECK(all[1]["isActive"] == true);
  CHECK(all[2]["id"] == "10.0.0.0:7001");
  // The metrics still count the tasks of the row that went.
  m = metrics{stats.metrics_text()};
  CHECK(m.samples[R"(caf_stream_executor_tasks_total{executor="127.0.0.1:7001",state="completed"})"]
        == "11");
}

TEST_CASE("prometheus_writer formats values and escapes text", "[ui]") {
  using ui::prometheus_writer;
  CHECK(prometheus_writer::format_value(0.005) == "0.005");
  CHECK(prometheus_writer::format_value(0.0005) == "0.0005");
  CHECK(prometheus_writer::format_value(0.00001) == "1e-05");
  CHECK(prometheus_writer::format_value(1234567) == "1234567");
  CHECK(prometheus_writer::format_value(3) == "3");
  CHECK(prometheus_writer::format_value(1.0 / 3) == "0.3333333333333333");
  CHECK(prometheus_writer::format_value(1.0 / 0.0) == "+Inf");
  CHECK(prometheus_writer::format_value(-1.0 / 0.0) == "-Inf");
  CHECK(prometheus_writer::escape_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  prometheus_writer out;
  out.family("x_total", "counter", "Help with a \\ and a\nnewline.");
  out.sample("x_total", {{"k", "v"}}, 2);
  CHECK(out.text()
        == "# HELP x_total Help with a \\\\ and a\\nnewline.\n"
           "# TYPE x_total counter\n"
           "x_total{k=\"v\"} 2\n");
}
