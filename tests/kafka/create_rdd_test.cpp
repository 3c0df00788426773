#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/kafka_cluster.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

// Spark's KafkaUtils.createRDD: the records of given offset ranges as one
// RDD, outside the streams.

namespace {

using record = kafka::consumer_record<std::string, std::string>;
using strings = std::vector<std::string>;
using ranges = std::vector<kafka::offset_range>;

// Topic "t" of 2 partitions with records "k<i>" = "v<i>" at offsets 0-4 of
// each.
void make_topic(support::kafka_cluster& kc) {
  kc.create_topic("t", 2);
  for (int p = 0; p < 2; ++p)
    for (int i = 0; i < 5; ++i)
      kc.produce("t", p, "k" + std::to_string(i), "v" + std::to_string(i));
}

kafka::params params_for(const support::kafka_cluster& kc) {
  return {{"bootstrap.servers", kc.bootstraps()}};
}

// "partition:offset:key=value" of each record, in the RDD's order.
strings seen(const rdd<record>& x) {
  strings result;
  for (const auto& r : x.collect())
    result.push_back(std::to_string(r.partition) + ":"
                     + std::to_string(r.offset) + ":" + r.key + "=" + r.value);
  return result;
}

} // namespace

TEST_CASE("create_rdd reads exactly the records of its ranges, one "
          "partition per range",
          "[kafka]") {
  support::kafka_cluster kc;
  make_topic(kc);
  test::pipeline<int> p;
  auto given = ranges{{"t", 1, 3, 5}, {"t", 0, 1, 3}, {"t", 0, 4, 4}};
  auto x = kafka::create_rdd<std::string, std::string>(
    p.context(), params_for(kc), given, kafka::prefer_consistent());
  CHECK(x.partitions() == 3);
  CHECK(kafka::offset_ranges(x) == given);
  CHECK(seen(x)
        == strings{"1:3:k3=v3", "1:4:k4=v4", "0:1:k1=v1", "0:2:k2=v2"});
  CHECK(x.count() == 4);
  // prefer_fixed names the host of the partitions in its map.
  auto fixed = kafka::create_rdd<std::string, std::string>(
    p.context(), params_for(kc), given,
    kafka::prefer_fixed({{{"t", 0}, "10.0.0.7"}}));
  CHECK(fixed.node()->locations(0).empty());
  CHECK(fixed.node()->locations(1) == strings{"10.0.0.7"});
  CHECK(seen(fixed) == seen(x));
}

TEST_CASE("create_rdd refuses prefer_brokers, a range that starts after it "
          "ends, and a bad setting, at the call",
          "[kafka]") {
  support::kafka_cluster kc;
  make_topic(kc);
  test::pipeline<int> p;
  auto create = [&](kafka::params ps, ranges rs, kafka::location_strategy w) {
    return kafka::create_rdd<std::string, std::string>(p.context(), ps, rs,
                                                       w);
  };
  CHECK_THROWS_WITH(create(params_for(kc), {{"t", 0, 0, 1}},
                           kafka::prefer_brokers()),
                    "create_rdd: prefer_brokers needs a driver consumer to "
                    "look up the leaders, which a single Kafka RDD does not "
                    "have; name the hosts with prefer_fixed");
  CHECK_THROWS_WITH(create(params_for(kc), {{"t", 0, 3, 2}},
                           kafka::prefer_consistent()),
                    "create_rdd: OffsetRange(topic: 't', partition: 0, "
                    "range: [3 -> 2]) starts after it ends or before offset "
                    "0");
  CHECK_THROWS_WITH(create(params_for(kc), {{"t", 0, -1, 2}},
                           kafka::prefer_consistent()),
                    Catch::Contains("starts after it ends or before offset "
                                    "0"));
  CHECK_THROWS_WITH(create({{"no.such.setting", "1"}}, {{"t", 0, 0, 1}},
                           kafka::prefer_consistent()),
                    Catch::Contains("no.such.setting"));
}

TEST_CASE("an action over a create_rdd range past its partition's end "
          "fails naming the offset",
          "[kafka]") {
  support::kafka_cluster kc;
  make_topic(kc);
  test::pipeline<int> p;
  auto x = kafka::create_rdd<std::string, std::string>(
    p.context(), params_for(kc), {{"t", 0, 3, 9}},
    kafka::prefer_consistent());
  CHECK_THROWS_WITH(x.collect(),
                    Catch::Contains("offset 5 of topic 't' partition 0 is "
                                    "past the partition's end"));
}
