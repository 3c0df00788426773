#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/kafka_cluster.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

namespace {

using record = kafka::consumer_record<std::string, std::string>;
using strings = std::vector<std::string>;

// What each batch read: its ranges and "partition:offset:key=value" per
// record, in the order of the RDD's partitions.
struct batch_seen {
  std::vector<kafka::offset_range> ranges;
  strings records;
};

class recorder {
public:
  void add(batch_seen x) {
    std::lock_guard<std::mutex> guard{mtx_};
    batches_.push_back(std::move(x));
  }

  std::vector<batch_seen> batches() {
    std::lock_guard<std::mutex> guard{mtx_};
    return batches_;
  }

private:
  std::mutex mtx_;
  std::vector<batch_seen> batches_;
};

std::shared_ptr<recorder> record_batches(const kafka::kafka_dstream<std::string, std::string>& s) {
  auto rec = std::make_shared<recorder>();
  s.foreach_rdd([rec](const rdd<record>& x) {
    batch_seen b;
    b.ranges = kafka::offset_ranges(x);
    for (auto& r : x.collect())
      b.records.push_back(std::to_string(r.partition) + ":"
                          + std::to_string(r.offset) + ":" + r.key + "="
                          + r.value);
    rec->add(std::move(b));
  });
  return rec;
}

kafka::offset_range range(const char* topic, int32_t p, int64_t from,
                          int64_t until) {
  return {topic, p, from, until};
}

kafka::params params_for(const support::kafka_cluster& kc) {
  return {{"bootstrap.servers", kc.bootstraps()},
          {"auto.offset.reset", "earliest"}};
}

} // namespace

TEST_CASE("a direct stream reads exactly the records since the last batch, "
          "one partition per Kafka partition",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("words", 2);
  kc.produce("words", 0, "k1", "a");
  kc.produce("words", 0, "k2", "b");
  kc.produce("words", 1, "k3", "c");
  test::pipeline<int> p;
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::subscribe<std::string, std::string>({"words"}, params_for(kc)));
  auto rec = record_batches(s);
  p.context().start();
  p.next_batch();
  kc.produce("words", 1, "k4", "d");
  p.next_batch();
  p.next_batch();
  p.context().stop();
  for (auto& info : p.infos())
    CHECK_FALSE(info.failure_reason);
  auto seen = rec->batches();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].ranges
        == std::vector<kafka::offset_range>{range("words", 0, 0, 2),
                                            range("words", 1, 0, 1)});
  CHECK(seen[0].records == strings{"0:0:k1=a", "0:1:k2=b", "1:0:k3=c"});
  CHECK(seen[1].ranges
        == std::vector<kafka::offset_range>{range("words", 0, 2, 2),
                                            range("words", 1, 1, 2)});
  CHECK(seen[1].records == strings{"1:1:k4=d"});
  CHECK(seen[2].records.empty());
  auto infos = p.infos();
  CHECK(infos[0].num_records == 3);
  CHECK(infos[1].num_records == 1);
}

TEST_CASE("stream.kafka.max-rate-per-partition caps each batch's ranges",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 1);
  for (int i = 0; i < 5; ++i)
    kc.produce("t", 0, "k", std::to_string(i));
  auto opts = testing::default_test_options();
  opts.kafka_max_rate_per_partition = 2;
  test::pipeline<int> p{opts};
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::assign<std::string, std::string>({{"t", 0}}, params_for(kc)));
  auto rec = record_batches(s);
  p.run(4);
  auto seen = rec->batches();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].ranges == std::vector<kafka::offset_range>{range("t", 0, 0, 2)});
  CHECK(seen[1].ranges == std::vector<kafka::offset_range>{range("t", 0, 2, 4)});
  CHECK(seen[2].ranges == std::vector<kafka::offset_range>{range("t", 0, 4, 5)});
  CHECK(seen[3].ranges == std::vector<kafka::offset_range>{range("t", 0, 5, 5)});
  CHECK(seen[2].records == strings{"0:4:k=4"});
}

TEST_CASE("a per_partition_config gives each partition its own maximum "
          "rate, in place of stream.kafka.max-rate-per-partition",
          "[kafka]") {
  // Partition 0 reads 2 records per second, partition 1 as many as wait.
  struct rates final : kafka::per_partition_config {
    double max_rate_per_partition(const kafka::topic_partition& tp)
      const override {
      return tp.partition == 0 ? 2 : 0;
    }
  };
  support::kafka_cluster kc;
  kc.create_topic("t", 2);
  for (int i = 0; i < 5; ++i) {
    kc.produce("t", 0, "k", std::to_string(i));
    kc.produce("t", 1, "k", std::to_string(i));
  }
  auto opts = testing::default_test_options();
  opts.kafka_max_rate_per_partition = 1;
  test::pipeline<int> p{opts};
  auto strategy = kafka::assign<std::string, std::string>({{"t", 0}, {"t", 1}},
                                                          params_for(kc));
  CHECK_THROWS_WITH(kafka::create_direct_stream(p.context(),
                                                kafka::prefer_consistent(),
                                                strategy, nullptr),
                    "create_direct_stream: no per_partition_config (leave it "
                    "out for the stream options' rates)");
  auto s = kafka::create_direct_stream(p.context(), kafka::prefer_consistent(),
                                       strategy, std::make_shared<rates>());
  auto rec = record_batches(s);
  p.run(3);
  auto seen = rec->batches();
  REQUIRE(seen.size() == 3);
  using ranges = std::vector<kafka::offset_range>;
  CHECK(seen[0].ranges == ranges{range("t", 0, 0, 2), range("t", 1, 0, 5)});
  CHECK(seen[1].ranges == ranges{range("t", 0, 2, 4), range("t", 1, 5, 5)});
  CHECK(seen[2].ranges == ranges{range("t", 0, 4, 5), range("t", 1, 5, 5)});
}

TEST_CASE("with backpressure, the initial rate and then the rate "
          "controller's estimates limit a direct stream's batches",
          "[kafka][backpressure]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 2);
  for (int i = 0; i < 1500; ++i)
    kc.produce_async("t", 0, std::to_string(i));
  for (int i = 0; i < 500; ++i)
    kc.produce_async("t", 1, std::to_string(i));
  kc.flush();
  auto opts = testing::default_test_options();
  opts.backpressure_enabled = true;
  opts.backpressure_initial_rate = 20;
  test::pipeline<int> p{opts};
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::assign<std::string, std::string>({{"t", 0}, {"t", 1}},
                                            params_for(kc)));
  auto rec = record_batches(s);
  // Each batch takes 100 ms of the manual clock: the rate controller sees
  // a processing rate of 10 records per millisecond of work.
  auto& clk = p.clock();
  s.foreach_rdd([&clk](const rdd<record>&) {
    clk.advance(std::chrono::milliseconds(100));
  });
  p.context().start();
  p.next_batch();
  // The first estimate comes when the second batch completes: at 20
  // records per 1 s batch, split 3:1 by lag, the stream would take 100
  // batches; the estimates (10 times the last batch's records per second)
  // let it read the rest within a few.
  size_t read = 0;
  for (int i = 0; i < 30 && read < 2000; ++i) {
    p.next_batch();
    read = 0;
    for (auto& b : rec->batches())
      for (auto& r : b.ranges)
        read += static_cast<size_t>(r.count());
  }
  p.context().stop();
  auto seen = rec->batches();
  REQUIRE(seen.size() >= 2);
  CHECK(seen[0].ranges
        == std::vector<kafka::offset_range>{range("t", 0, 0, 15),
                                            range("t", 1, 0, 5)});
  CHECK(seen[1].ranges
        == std::vector<kafka::offset_range>{range("t", 0, 15, 30),
                                            range("t", 1, 5, 10)});
  CHECK(read == 2000);
  CHECK(seen.size() < 30);
}

TEST_CASE("commit_async commits at the next batch and on stop, a new stream "
          "of the group starts there",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 1);
  kc.produce("t", 0, "k", "a");
  kc.produce("t", 0, "k", "b");
  auto ps = params_for(kc);
  ps["group.id"] = "g";
  {
    test::pipeline<int> p;
    auto s = kafka::create_direct_stream(
      p.context(), kafka::prefer_consistent(),
      kafka::subscribe<std::string, std::string>({"t"}, ps));
    s.foreach_rdd([c = s.committer()](const rdd<record>& x) {
      c.commit_async(kafka::offset_ranges(x));
    });
    p.context().start();
    p.next_batch();
    CHECK_FALSE(kc.committed("g", "t", 0));
    kc.produce("t", 0, "k", "c");
    p.next_batch(); // commits batch 1's offsets when it is cut
    CHECK(kc.committed("g", "t", 0) == 2);
    p.context().stop(true); // commits batch 2's
    CHECK(kc.committed("g", "t", 0) == 3);
  }
  kc.produce("t", 0, "k", "d");
  test::pipeline<int> p;
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::subscribe<std::string, std::string>({"t"}, ps));
  auto rec = record_batches(s);
  p.run(1);
  auto seen = rec->batches();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].records == strings{"0:3:k=d"});
}

TEST_CASE("a restored direct input replays the remembered batches' ranges "
          "and goes on after them",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 1);
  kc.produce("t", 0, "k", "a");
  kafka::consumer_settings cs;
  cs.how = kafka::consumer_settings::kind::assign;
  cs.partitions = {{"t", 0}};
  cs.kafka_params = params_for(kc);
  kafka::direct_settings settings;
  std::string saved;
  {
    kafka::detail::direct_input in{cs, settings, std::chrono::seconds(1)};
    CHECK(in.next_ranges(caf_stream::time{1000})
          == std::vector<kafka::offset_range>{range("t", 0, 0, 1)});
    kc.produce("t", 0, "k", "b");
    CHECK(in.next_ranges(caf_stream::time{2000})
          == std::vector<kafka::offset_range>{range("t", 0, 1, 2)});
    saved = in.checkpoint_positions();
  }
  kc.produce("t", 0, "k", "c");
  kafka::detail::direct_input in{cs, settings, std::chrono::seconds(1)};
  auto restored = in.restore_positions(saved);
  REQUIRE(restored.size() == 2);
  // Batch 2 runs again with the same range although offset 2 exists now.
  CHECK(in.next_ranges(caf_stream::time{2000})
        == std::vector<kafka::offset_range>{range("t", 0, 1, 2)});
  CHECK(in.next_ranges(caf_stream::time{3000})
        == std::vector<kafka::offset_range>{range("t", 0, 2, 3)});
}

TEST_CASE("a broker that is down fails the batch, the next batch after its "
          "return reads what the failed one would have",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 1);
  kc.produce("t", 0, "k", "a");
  auto opts = testing::default_test_options();
  // The batch while the broker is down waits this long; the one after its
  // return needs a reconnect, in time even on a loaded machine.
  opts.kafka_poll_timeout = std::chrono::seconds(3);
  test::pipeline<int> p{opts};
  auto ps = params_for(kc);
  // Reconnect soon after the broker is back.
  ps["reconnect.backoff.ms"] = "10";
  ps["reconnect.backoff.max.ms"] = "100";
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::assign<std::string, std::string>({{"t", 0}}, ps));
  auto rec = record_batches(s);
  p.context().start();
  rd_kafka_mock_broker_set_down(kc.mock(), 1);
  p.next_batch();
  rd_kafka_mock_broker_set_up(kc.mock(), 1);
  p.next_batch();
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 2);
  REQUIRE(infos[0].failure_reason);
  CHECK_THAT(*infos[0].failure_reason,
             Catch::Matchers::Contains("kafka: cannot get the offsets of "
                                       "topic 't' partition 0"));
  CHECK_FALSE(infos[1].failure_reason);
  auto seen = rec->batches();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].records == strings{"0:0:k=a"});
}

TEST_CASE("a context whose direct stream waits for a broker that is down "
          "stops without waiting out the poll timeout",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 1);
  auto opts = testing::default_test_options();
  opts.kafka_poll_timeout = std::chrono::seconds(300);
  test::pipeline<int> p{opts};
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::subscribe<std::string, std::string>({"t"}, params_for(kc)));
  auto rec = record_batches(s);
  p.context().start();
  rd_kafka_mock_broker_set_down(kc.mock(), 1);
  // The job generator waits for the partitions of the batch cut now (the
  // tick comes before the stop in its mailbox), which the stop ends.
  p.clock().advance(std::chrono::seconds(1));
  auto t0 = std::chrono::steady_clock::now();
  p.context().stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60));
  CHECK(rec->batches().empty());
}

TEST_CASE("create_direct_stream refuses a bad librdkafka setting at the call",
          "[kafka]") {
  test::pipeline<int> p;
  CHECK_THROWS_WITH(
    kafka::create_direct_stream(
      p.context(), kafka::prefer_consistent(),
      kafka::subscribe<std::string, std::string>(
        {"t"}, {{"bootstrap.servers", "127.0.0.1:1"},
                {"key.deserializer", "StringDeserializer"}})),
    Catch::Matchers::Contains("kafka: parameter 'key.deserializer'"));
}

TEST_CASE("subscribe_pattern finds topics created later and reads them from "
          "their beginning",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("ev1", 1);
  kc.create_topic("other", 1);
  kc.produce("ev1", 0, "k", "a");
  kc.produce("other", 0, "k", "x");
  test::pipeline<int> p;
  auto s = kafka::create_direct_stream(
    p.context(), kafka::prefer_consistent(),
    kafka::subscribe_pattern<std::string, std::string>("ev[0-9]+",
                                                       params_for(kc)));
  auto rec = record_batches(s);
  p.context().start();
  p.next_batch();
  kc.create_topic("ev2", 2);
  kc.produce("ev2", 1, "k", "b");
  kc.produce("ev2", 1, "k", "c");
  p.next_batch();
  p.context().stop();
  auto seen = rec->batches();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].ranges == std::vector<kafka::offset_range>{range("ev1", 0, 0, 1)});
  CHECK(seen[1].ranges
        == std::vector<kafka::offset_range>{range("ev1", 0, 1, 1),
                                            range("ev2", 0, 0, 0),
                                            range("ev2", 1, 0, 2)});
  CHECK(seen[1].records == strings{"1:0:k=b", "1:1:k=c"});
}

TEST_CASE("a range whose last offsets are gone fails unless "
          "stream.kafka.allow-non-consecutive-offsets is set",
          "[kafka]") {
  // A compacted topic's range can end after the last record left: offsets
  // 3 and 4 of [0, 5) do not exist (librdkafka's mock writes no
  // transaction markers, so this is the gap a test can make).
  support::kafka_cluster kc;
  kc.create_topic("c", 1);
  for (auto v : {"a", "b", "c"})
    kc.produce("c", 0, "k", v);
  kafka::consumer_settings cs;
  cs.how = kafka::consumer_settings::kind::assign;
  cs.partitions = {{"c", 0}};
  cs.kafka_params = params_for(kc);
  kafka::direct_settings settings;
  settings.poll_timeout = std::chrono::seconds(10);
  kafka::detail::direct_input in{cs, settings, std::chrono::seconds(1)};
  strings got;
  auto read = [&] {
    got.clear();
    kafka::detail::read_range(in.executor_params(), range("c", 0, 0, 5),
                              settings, [&](kafka::raw_record&& r) {
                                got.push_back(std::to_string(r.offset) + "="
                                              + r.value.value_or("-"));
                              });
  };
  CHECK_THROWS_WITH(read(), Catch::Matchers::Contains(
                              "offset 3 of topic 'c' partition 0 is past the "
                              "partition's end before the range's end 5")
                              && Catch::Matchers::Contains(
                                "stream.kafka.allow-non-consecutive-offsets"));
  settings.allow_non_consecutive_offsets = true;
  read();
  CHECK(got == strings{"0=a", "1=b", "2=c"});
}

TEST_CASE("a committed offset that retention removed fails the batch "
          "unless auto.offset.reset is earliest",
          "[kafka]") {
  support::kafka_cluster kc;
  kc.create_topic("r", 1);
  // 80 records of 100 KiB: more than the 5 MiB a partition of the mock
  // keeps, so the oldest go as retention would remove them. Each value
  // starts with its offset.
  std::string tail(100 * 1024, 'x');
  for (int i = 0; i < 80; ++i)
    kc.produce_async("r", 0, std::to_string(i) + ";" + tail);
  kc.flush();
  // The group had read offsets 0 and 1 before they went.
  kc.commit("g", "r", 0, 2);
  auto settings_for = [&](const std::string& reset) {
    kafka::consumer_settings cs;
    cs.how = kafka::consumer_settings::kind::assign;
    cs.partitions = {{"r", 0}};
    cs.kafka_params = {{"bootstrap.servers", kc.bootstraps()},
                       {"group.id", "g"},
                       {"auto.offset.reset", reset}};
    return cs;
  };
  kafka::direct_settings settings;
  settings.poll_timeout = std::chrono::seconds(10);
  {
    kafka::detail::direct_input in{settings_for("latest"), settings,
                                   std::chrono::seconds(1)};
    CHECK_THROWS_WITH(
      in.next_ranges(caf_stream::time{1000}),
      Catch::Matchers::Contains("offset 2 of topic 'r' partition 0 is no "
                                "longer in Kafka (retention removed it; the "
                                "earliest is ")
        && Catch::Matchers::Contains("set auto.offset.reset=earliest to go "
                                     "on from there"));
  }
  kafka::detail::direct_input in{settings_for("earliest"), settings,
                                 std::chrono::seconds(1)};
  auto ranges = in.next_ranges(caf_stream::time{1000});
  REQUIRE(ranges.size() == 1);
  // Goes on from the earliest offset left, up to the end.
  CHECK(ranges[0].from_offset > 2);
  CHECK(ranges[0].until_offset == 80);
  strings got;
  kafka::detail::read_range(in.executor_params(), ranges[0], settings,
                            [&](kafka::raw_record&& r) {
                              auto v = r.value.value_or("");
                              got.push_back(std::to_string(r.offset) + "="
                                            + v.substr(0, v.find(';')));
                            });
  REQUIRE(got.size() == static_cast<size_t>(80 - ranges[0].from_offset));
  CHECK(got.front()
        == std::to_string(ranges[0].from_offset) + "="
             + std::to_string(ranges[0].from_offset));
  CHECK(got.back() == "79=79");
}

TEST_CASE("save_to_kafka writes each batch's records, acknowledged before "
          "the batch completes",
          "[kafka][sinks]") {
  support::kafka_cluster kc;
  kc.create_topic("out", 1);
  test::pipeline<int> p;
  using kv = std::pair<std::string, int>;
  auto in = testing::detail::add_test_input(
    p.context(), std::vector<std::vector<kv>>{{{"a", 1}, {"b", 2}}, {}, {{"c", 3}}},
    1);
  kafka::save_to_kafka(
    in, "out", {{"bootstrap.servers", kc.bootstraps()}},
    [](const kv& x) { return x.first; }, [](const kv& x) { return x.second; });
  p.run(3);
  for (auto& info : p.infos())
    CHECK_FALSE(info.failure_reason);
  strings got;
  kafka::direct_settings settings;
  kafka::consumer_settings cs;
  cs.how = kafka::consumer_settings::kind::assign;
  cs.partitions = {{"out", 0}};
  cs.kafka_params = params_for(kc);
  kafka::detail::direct_input reader{cs, settings, std::chrono::seconds(1)};
  kafka::detail::read_range(reader.executor_params(), range("out", 0, 0, 3),
                            settings, [&](kafka::raw_record&& r) {
                              got.push_back(r.key.value_or("-") + "="
                                            + r.value.value_or("-"));
                            });
  CHECK(got == strings{"a=1", "b=2", "c=3"});
}

TEST_CASE("save_to_kafka refuses a bad librdkafka setting at the call",
          "[kafka][sinks]") {
  test::pipeline<int> p;
  auto in = testing::detail::add_test_input(
    p.context(), std::vector<std::vector<std::string>>{}, 1);
  CHECK_THROWS_WITH(kafka::save_to_kafka(in, "out", {{"no.such", "1"}}),
                    Catch::Matchers::Contains(
                      "save_to_kafka: parameter 'no.such'"));
}

TEST_CASE("a database sink stores each batch's Kafka offsets with its rows, "
          "and assign starts from them",
          "[kafka][sinks]") {
  support::kafka_cluster kc;
  kc.create_topic("t", 2);
  kc.produce("t", 0, "k", "a");
  kc.produce("t", 1, "k", "b");
  kc.produce("t", 1, "k", "c");
  testing::temporary_directory dir;
  auto db = dir.path() + "/out.db";
  auto run = [&](std::map<kafka::topic_partition, int64_t> offsets,
                 int64_t start_ms) {
    test::pipeline<int> p{testing::default_test_options(),
                          caf_stream::time{start_ms}};
    testing::temporary_directory checkpoints;
    p.context().checkpoint(checkpoints.path());
    auto s = kafka::create_direct_stream(
      p.context(), kafka::prefer_consistent(),
      kafka::assign<std::string, std::string>({{"t", 0}, {"t", 1}},
                                              params_for(kc), offsets));
    sinks::table_options opts;
    opts.columns = {"v"};
    opts.create_if_missing = true;
    opts.kafka_offsets = s.batch_offsets();
    sinks::save_to_sqlite(
      s, db, "vals", [](const record& r) { return std::make_tuple(r.value); },
      opts);
    p.run(1);
    for (auto& info : p.infos())
      CHECK_FALSE(info.failure_reason);
  };
  CHECK(sinks::sqlite_offsets(db, "vals").empty());
  run({}, 0);
  using stored = std::map<kafka::topic_partition, int64_t>;
  CHECK(sinks::sqlite_offsets(db, "vals") == stored{{{"t", 0}, 1}, {{"t", 1}, 2}});
  // A new program (no checkpoint, later batches) starts where the rows end.
  kc.produce("t", 0, "k", "d");
  run(sinks::sqlite_offsets(db, "vals"), 60000);
  CHECK(sinks::sqlite_offsets(db, "vals") == stored{{{"t", 0}, 2}, {{"t", 1}, 2}});
  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &conn) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(conn, "select v from vals order by v", -1, &st,
                             nullptr)
          == SQLITE_OK);
  strings vals;
  while (sqlite3_step(st) == SQLITE_ROW)
    vals.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(conn);
  CHECK(vals == strings{"a", "b", "c", "d"});
}
