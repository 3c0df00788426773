#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/error.hpp"

#include "kafka/consumers.hpp"

using namespace caf_stream;
using kafka::detail::kafka_waits;

namespace {

// A librdkafka request that answers `answers` in turn, at once (the last
// one again after them), and notes the milliseconds each call may wait.
struct scripted_request {
  explicit scripted_request(std::vector<rd_kafka_resp_err_t> xs)
    : answers(std::move(xs)) {
    // nop
  }

  std::vector<rd_kafka_resp_err_t> answers;
  std::vector<int> waits;

  rd_kafka_resp_err_t operator()(int ms) {
    waits.push_back(ms);
    auto i = std::min(waits.size(), answers.size()) - 1;
    return answers[i];
  }
};

constexpr int long_timeout = 300000;

} // namespace

TEST_CASE("a request to Kafka is asked again in slices while no broker is "
          "up, and in longer ones while its answer takes longer",
          "[kafka]") {
  kafka_waits waits;
  SECTION("no broker up: 100 ms each time") {
    scripted_request req{{RD_KAFKA_RESP_ERR__TRANSPORT,
                          RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                          RD_KAFKA_RESP_ERR__TRANSPORT,
                          RD_KAFKA_RESP_ERR_NO_ERROR}};
    CHECK(waits.request(long_timeout, "x", req) == RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK(req.waits == std::vector<int>{100, 100, 100, 100});
  }
  SECTION("no answer in time: twice as long each time, 2 s at most") {
    scripted_request req{{RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
                          RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR__TIMED_OUT,
                          RD_KAFKA_RESP_ERR_NO_ERROR}};
    CHECK(waits.request(long_timeout, "x", req) == RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK(req.waits
          == std::vector<int>{100, 200, 400, 800, 1600, 2000, 2000, 2000});
  }
  SECTION("an answer that is no timeout ends it") {
    scripted_request req{{RD_KAFKA_RESP_ERR__TRANSPORT,
                          RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC}};
    CHECK(waits.request(long_timeout, "x", req)
          == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
    CHECK(req.waits == std::vector<int>{100, 100});
  }
  SECTION("no time left: one call, whose answer is the result") {
    scripted_request req{{RD_KAFKA_RESP_ERR__TRANSPORT}};
    CHECK(waits.request(0, "x", req) == RD_KAFKA_RESP_ERR__TRANSPORT);
    CHECK(req.waits == std::vector<int>{0});
  }
}

TEST_CASE("a wait on Kafka gives up after a slice without an answer once "
          "the context stops, and a request that gets its answer goes on",
          "[kafka]") {
  kafka_waits waits;
  auto stops = Catch::Equals("kafka: cannot get the metadata of topic 't': "
                             "the streaming context stops");
  SECTION("stopped while a slice waits") {
    int calls = 0;
    auto request = [&](int) {
      if (++calls == 2)
        waits.interrupt();
      return RD_KAFKA_RESP_ERR__TRANSPORT;
    };
    CHECK_THROWS_WITH(waits.request(long_timeout,
                                    "cannot get the metadata of topic 't'",
                                    request),
                      stops);
    CHECK(calls == 2);
    // A later request asks once more.
    CHECK_THROWS_WITH(waits.request(long_timeout,
                                    "cannot get the metadata of topic 't'",
                                    request),
                      stops);
    CHECK(calls == 3);
  }
  SECTION("stopped, but the answer comes") {
    waits.interrupt();
    scripted_request req{{RD_KAFKA_RESP_ERR_NO_ERROR}};
    CHECK(waits.request(long_timeout, "x", req) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  SECTION("a task's poll of brokers that are not there") {
    waits.interrupt();
    auto rk = kafka::detail::make_consumer(
      {{"bootstrap.servers", "127.0.0.1:1"}, {"group.id", "g"}});
    CHECK(waits.poll(rk.get(), long_timeout) == nullptr);
    CHECK_THROWS_WITH(waits.check("no record at offset 3"),
                      Catch::Equals("kafka: no record at offset 3: the "
                                    "streaming context stops"));
    rd_kafka_consumer_close(rk.get());
  }
}
