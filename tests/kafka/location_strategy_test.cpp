#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/kafka_cluster.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

// Where a direct stream's tasks prefer to run (Spark's LocationStrategies):
// the hosts each batch's RDD names for its partitions, which the driver
// matches with its worker nodes (`preferred_nodes`).

namespace {

using record = kafka::consumer_record<std::string, std::string>;
using hosts = std::vector<std::vector<std::string>>;

// The preferred locations of each partition of each batch's RDD.
class seen_hosts {
public:
  void add(hosts x) {
    std::lock_guard<std::mutex> guard{mtx_};
    batches_.push_back(std::move(x));
  }

  std::vector<hosts> batches() {
    std::lock_guard<std::mutex> guard{mtx_};
    return batches_;
  }

private:
  std::mutex mtx_;
  std::vector<hosts> batches_;
};

// Topic "t" of 2 partitions, a record in each.
void make_topic(support::kafka_cluster& kc) {
  kc.create_topic("t", 2);
  kc.produce("t", 0, "k", "a");
  kc.produce("t", 1, "k", "b");
}

// Runs two batches of a direct stream of topic "t" with location strategy
// `where`; returns what each batch's RDD preferred.
std::vector<hosts> run(support::kafka_cluster& kc,
                       kafka::location_strategy where) {
  test::pipeline<int> p;
  auto out = std::make_shared<seen_hosts>();
  kafka::create_direct_stream(
    p.context(), std::move(where),
    kafka::subscribe<std::string, std::string>(
      {"t"}, {{"bootstrap.servers", kc.bootstraps()},
              {"auto.offset.reset", "earliest"}}))
    .foreach_rdd([out](const rdd<record>& x) {
      hosts batch;
      for (size_t i = 0; i < x.node()->num_partitions(); ++i)
        batch.push_back(x.node()->locations(i));
      out->add(std::move(batch));
    });
  p.run(2);
  for (auto& info : p.infos())
    CHECK_FALSE(info.failure_reason);
  return out->batches();
}

// The host of each broker in `bootstraps` ("host:port,host:port").
std::vector<std::string> hosts_of(const std::string& bootstraps) {
  std::vector<std::string> result;
  size_t start = 0;
  while (start < bootstraps.size()) {
    auto end = bootstraps.find(',', start);
    if (end == std::string::npos)
      end = bootstraps.size();
    auto entry = bootstraps.substr(start, end - start);
    result.push_back(entry.substr(0, entry.rfind(':')));
    start = end + 1;
  }
  return result;
}

} // namespace

TEST_CASE("prefer_consistent names no host for any partition",
          "[kafka][location_strategy]") {
  support::kafka_cluster kc;
  make_topic(kc);
  auto seen = run(kc, kafka::prefer_consistent());
  REQUIRE(seen.size() == 2);
  for (const auto& batch : seen)
    CHECK(batch == hosts{{}, {}});
}

TEST_CASE("prefer_fixed names the host or node of each partition in its "
          "map, and none for the others",
          "[kafka][location_strategy]") {
  support::kafka_cluster kc;
  make_topic(kc);
  auto seen = run(kc, kafka::prefer_fixed({{{"t", 1}, "10.1.2.3"},
                                           {{"other", 0}, "10.9.9.9"}}));
  REQUIRE(seen.size() == 2);
  for (const auto& batch : seen)
    CHECK(batch == hosts{{}, {"10.1.2.3"}});
  support::kafka_cluster kc2;
  make_topic(kc2);
  seen = run(kc2, kafka::prefer_fixed({{{"t", 0}, "worker-1:4000"},
                                       {{"t", 1}, "worker-2"}}));
  REQUIRE(seen.size() == 2);
  for (const auto& batch : seen)
    CHECK(batch == hosts{{"worker-1:4000"}, {"worker-2"}});
}

TEST_CASE("prefer_fixed refuses a partition that names no host",
          "[kafka][location_strategy]") {
  CHECK_THROWS_WITH(kafka::prefer_fixed({{{"t", 0}, "10.1.2.3"},
                                         {{"t", 3}, ""}}),
                    "prefer_fixed: partition 3 of topic 't' names no host");
}

TEST_CASE("prefer_brokers names the host of each partition's leader",
          "[kafka][location_strategy]") {
  support::kafka_cluster kc{2};
  auto brokers = hosts_of(kc.bootstraps());
  REQUIRE(brokers.size() == 2);
  // Broker ids count from 1, in the order of the bootstrap list.
  make_topic(kc);
  REQUIRE(rd_kafka_mock_partition_set_leader(kc.mock(), "t", 0, 2)
          == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_partition_set_leader(kc.mock(), "t", 1, 1)
          == RD_KAFKA_RESP_ERR_NO_ERROR);
  auto seen = run(kc, kafka::prefer_brokers());
  REQUIRE(seen.size() == 2);
  for (const auto& batch : seen)
    CHECK(batch == hosts{{brokers[1]}, {brokers[0]}});
}
