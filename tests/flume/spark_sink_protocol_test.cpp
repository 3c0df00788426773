#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "caf_stream/flume/spark_sink_protocol.hpp"

#include "support/avro_bytes.hpp"

using namespace caf_stream::flume;
using namespace caf_stream::flume::detail;
using support::bytes;
using support::pack;

// The byte tables below are written by hand from the Avro specification
// (zig-zag varints, blocks, unions, the IPC handshake) and Spark's
// sparkflume.avdl; flume_polling_stream_test.cpp checks the same against
// avsc's server.

namespace {

// The MD5 of the protocol's text, computed with md5sum.
const std::string protocol_md5
  = bytes({0x6d, 0xc2, 0xa9, 0xf2, 0x6a, 0x07, 0x12, 0x9c, 0x93, 0x61, 0x39,
           0x4c, 0x94, 0x68, 0x86, 0xbb});

using replies = std::vector<std::optional<event_batch>>;

replies feed(spark_sink_requestor& req, const std::string& input) {
  replies result;
  req.feed(input.data(), input.size(), result);
  return result;
}

// HandshakeResponse {match = BOTH, serverProtocol = null, serverHash =
// null, meta = null}.
const std::string handshake_both = bytes({0x00, 0x00, 0x00, 0x00});

// Empty reply metadata, no error.
const std::string no_error = bytes({0x00, 0x00});

} // namespace

TEST_CASE("spark_sink_requestor sends getEventBatch, ack and nack as Spark's "
          "FlumePollingReceiver does",
          "[flume]") {
  std::string protocol{spark_flume_protocol};
  REQUIRE(protocol.size() == 699);
  spark_sink_requestor req{1024 * 1024};
  std::string out;
  req.get_event_batch(out, 1000);
  req.ack(out, "seq-1");
  req.nack(out, "s");
  // The first call carries the handshake: the client's hash, its protocol
  // (union branch 1, 699 bytes: F6 0A), the server's hash as the client
  // expects it, no metadata. Then the call: no metadata, the name, n =
  // 1000 (zig-zag 2000: D0 0F).
  auto handshake = protocol_md5 + bytes({0x02, 0xF6, 0x0A}) + protocol
                   + protocol_md5 + bytes({0x00});
  CHECK(out
        == pack(0, {handshake + bytes({0x00, 0x1A}) + "getEventBatch"
                    + bytes({0xD0, 0x0F})})
             + pack(1, {bytes({0x00, 0x06}) + "ack" + bytes({0x0A})
                        + "seq-1"})
             + pack(2, {bytes({0x00, 0x08}) + "nack" + bytes({0x02}) + "s"}));
  CHECK(req.awaiting_reply());
  // The batch {errorMsg: "", sequenceNumber: "seq-1", events: [{headers:
  // {h: v}, body: "xy"}, {headers: {}, body: ""}]}, its reply cut in two
  // frames; then the replies to ack and nack (null: no bytes).
  auto batch = pack(0, {handshake_both + no_error + bytes({0x00, 0x0A})
                          + "seq-1" + bytes({0x04, 0x02, 0x02, 'h'}),
                        bytes({0x02, 'v', 0x00, 0x04, 'x', 'y', 0x00, 0x00,
                               0x00})});
  auto got = feed(req, batch.substr(0, 13));
  CHECK(got.empty());
  got = feed(req, batch.substr(13) + pack(1, {no_error}));
  REQUIRE(got.size() == 2);
  REQUIRE(got[0].has_value());
  CHECK(got[0]->error_msg.empty());
  CHECK(got[0]->sequence_number == "seq-1");
  CHECK(got[0]->events
        == std::vector<event>{{{{"h", "v"}}, "xy"}, {{}, ""}});
  CHECK_FALSE(got[1].has_value());
  got = feed(req, pack(2, {no_error}));
  REQUIRE(got.size() == 1);
  CHECK_FALSE(got[0].has_value());
  CHECK_FALSE(req.awaiting_reply());
}

TEST_CASE("spark_sink_requestor takes a sink that answers CLIENT and an "
          "error batch",
          "[flume]") {
  spark_sink_requestor req{1024 * 1024};
  std::string out;
  req.get_event_batch(out, 1);
  // match CLIENT (2), the server's protocol "{}" and hash (16 x 'c'), no
  // metadata; then the batch {errorMsg: "no events", sequenceNumber: "",
  // events: []}.
  auto reply = pack(0, {bytes({0x02, 0x02, 0x04, '{', '}', 0x02})
                          + std::string(16, 'c') + bytes({0x00}) + no_error
                          + bytes({0x12}) + "no events"
                          + bytes({0x00, 0x00})});
  auto got = feed(req, reply);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].has_value());
  CHECK(got[0]->error_msg == "no events");
  CHECK(got[0]->events.empty());
}

TEST_CASE("spark_sink_requestor refuses replies that are not "
          "SparkFlumeProtocol's",
          "[flume]") {
  auto fed = [](const std::string& reply, size_t max_reply = 1024 * 1024) {
    spark_sink_requestor req{max_reply};
    std::string out;
    req.get_event_batch(out, 10);
    replies got;
    req.feed(reply.data(), reply.size(), got);
  };
  // match NONE (4): the sink does not know the protocol.
  CHECK_THROWS_WITH(fed(pack(0, {bytes({0x04, 0x00, 0x00, 0x00})})),
                    Catch::Contains("does not know SparkFlumeProtocol")
                      && Catch::Contains("handshake match NONE"));
  CHECK_THROWS_WITH(fed(pack(0, {bytes({0x0E, 0x00, 0x00, 0x00})})),
                    Catch::Contains("with match 7"));
  // The error flag, then the union ["string"]: its text.
  CHECK_THROWS_WITH(fed(pack(0, {handshake_both + bytes({0x00, 0x01, 0x00,
                                                         0x06})
                                 + "bad"})),
                    "the server failed the call: bad");
  // A reply to a call that was not made.
  CHECK_THROWS_WITH(fed(pack(5, {handshake_both + no_error})),
                    Catch::Contains("serial 5, which no call awaits"));
  // A block of 100 events in 3 bytes.
  CHECK_THROWS_WITH(fed(pack(0, {handshake_both + no_error
                                 + bytes({0x00, 0x00, 0xC8, 0x01, 0x00})})),
                    Catch::Contains("the batch's events has a block of 100"));
  // A frame past the limit, refused from its length.
  CHECK_THROWS_WITH(fed(pack(0, {std::string(2000, 'x')}), 1024),
                    Catch::Contains("a reply with a frame of 2000 bytes")
                      && Catch::Contains(
                        "flume::polling_settings::max_reply_size"));
  // Bytes after the batch.
  CHECK_THROWS_WITH(fed(pack(0, {handshake_both + no_error
                                 + bytes({0x00, 0x00, 0x00, 0x07})})),
                    Catch::Contains("bytes after its last value (1)"));
}

TEST_CASE("spark_sink_responder serves getEventBatch, ack and nack as a "
          "Spark Sink does",
          "[flume]") {
  std::string protocol{spark_flume_protocol};
  auto handshake = protocol_md5 + bytes({0x02, 0xF6, 0x0A}) + protocol
                   + protocol_md5 + bytes({0x00});
  netty_decoder decoder{1024 * 1024};
  std::vector<netty_pack> packs;
  auto input = pack(0, {handshake + bytes({0x00, 0x1A}) + "getEventBatch",
                        bytes({0xD0, 0x0F})})
               + pack(1, {bytes({0x00, 0x06}) + "ack" + bytes({0x0A})
                          + "seq-1"})
               + pack(2, {bytes({0x00, 0x08}) + "nack" + bytes({0x02}) + "s"})
               + pack(3, {bytes({0x00, 0x0C}) + "append" + bytes({0x00})});
  decoder.feed(input.data(), input.size(), packs);
  REQUIRE(packs.size() == 4);
  spark_sink_responder res;
  auto call = res.read(packs[0]);
  CHECK(call.what == sink_call::kind::get_event_batch);
  CHECK(call.n == 1000);
  event_batch batch{"", "seq-1", {{{{"h", "v"}}, "xy"}, {{}, ""}}};
  // The handshake's answer, then the batch, as the requestor's test reads
  // it (its events in one block with a positive count).
  CHECK(res.reply(batch)
        == std::vector<std::string>{
          handshake_both,
          no_error + bytes({0x00, 0x0A}) + "seq-1"
            + bytes({0x04, 0x02, 0x02, 'h', 0x02, 'v', 0x00, 0x04, 'x', 'y',
                     0x00, 0x00, 0x00})});
  call = res.read(packs[1]);
  CHECK(call.what == sink_call::kind::ack);
  CHECK(call.sequence_number == "seq-1");
  CHECK(res.reply() == std::vector<std::string>{no_error});
  call = res.read(packs[2]);
  CHECK(call.what == sink_call::kind::nack);
  CHECK(call.sequence_number == "s");
  CHECK_THROWS_WITH(res.read(packs[3]),
                    Catch::Contains("'append', which SparkFlumeProtocol does "
                                    "not have"));
}

TEST_CASE("sink_transactions hands out events as a Spark Sink's "
          "transactions do",
          "[flume]") {
  sink_transactions tx;
  int made = 0;
  auto next = [&](event& e) {
    if (made == 5)
      return false;
    e = event{{}, std::to_string(++made)};
    return true;
  };
  auto bodies = [](const event_batch& b) {
    std::vector<std::string> result;
    for (const auto& e : b.events)
      result.push_back(e.body);
    return result;
  };
  auto a = tx.take(2, next);
  auto b = tx.take(2, next);
  CHECK(a.sequence_number == "seq-1");
  CHECK(bodies(a) == std::vector<std::string>{"1", "2"});
  CHECK(bodies(b) == std::vector<std::string>{"3", "4"});
  tx.settle({sink_call::kind::ack, 0, "seq-1"});
  tx.settle({sink_call::kind::nack, 0, "seq-2"});
  // A batch settled already, and one never opened: ignored.
  tx.settle({sink_call::kind::ack, 0, "seq-2"});
  tx.settle({sink_call::kind::ack, 0, "seq-9"});
  CHECK(tx.acknowledged() == 2);
  CHECK(tx.ready([] { return false; }));
  // What came back goes first.
  auto c = tx.take(3, next);
  CHECK(bodies(c) == std::vector<std::string>{"3", "4", "5"});
  tx.roll_back();
  CHECK(bodies(tx.take(10, next))
        == std::vector<std::string>{"3", "4", "5"});
  CHECK(tx.acknowledged() == 2);
}
