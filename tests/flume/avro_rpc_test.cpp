#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "caf_stream/flume/avro_rpc.hpp"

#include "support/avro_bytes.hpp"
#include "support/zlib_stream.hpp"

using namespace caf_stream::flume;
using namespace caf_stream::flume::detail;
using support::bytes;
using support::pack;

// The byte tables below are written by hand from the Avro specification
// (zig-zag varints, blocks, unions, the IPC handshake) and Flume's
// AvroSourceProtocol; the Node peer of flume_stream_test.cpp checks the
// same against avsc.

namespace {

// A request on a new connection: the handshake (client hash 16 x 'a', the
// client protocol "P", server hash 16 x 'b', no meta), empty call
// metadata, then append({headers: {h: v}, body: "xy"}).
std::string first_append() {
  return std::string(16, 'a') + bytes({0x02, 0x02}) + "P"
         + std::string(16, 'b') + bytes({0x00})        // handshake
         + bytes({0x00})                                // call metadata
         + bytes({0x0C}) + "append"                     // message name
         + bytes({0x02, 0x02, 'h', 0x02, 'v', 0x00})    // headers
         + bytes({0x04, 'x', 'y'});                     // body
}

// The frames of appendBatch([{body: "a"}, {headers: {k: ""}, body: ""}])
// without a handshake, its events in one block with a negative count (and
// the block's byte size), cut into two frames.
std::vector<std::string> second_batch() {
  return {bytes({0x00, 0x16}) + "appendBatch",
          bytes({0x03, 0x12, 0x00, 0x02, 'a', 0x02, 0x02, 'k', 0x00, 0x00,
                 0x00, 0x00})};
}

// Feeds `input` to a connection whose handler answers `st` and records the
// requests; returns the replies.
std::string serve_all(flume_connection& conn, const std::string& input,
                      std::vector<request>& served, status st = status::ok) {
  std::string replies;
  conn.feed(input.data(), input.size(),
            [&](request&& req) {
              served.push_back(std::move(req));
              return st;
            },
            replies);
  return replies;
}

} // namespace

TEST_CASE("netty_decoder cuts packs however the bytes arrive", "[flume]") {
  auto input = pack(7, {"ab", "", "cde"}) + pack(-1, {}) + pack(8, {"f"});
  auto step = GENERATE(1, 2, 5, 1000);
  netty_decoder dec{1024};
  std::vector<netty_pack> out;
  for (size_t i = 0; i < input.size(); i += step) {
    auto n = std::min<size_t>(step, input.size() - i);
    dec.feed(input.data() + i, n, out);
  }
  REQUIRE(out.size() == 3);
  CHECK(out[0].serial == 7);
  CHECK(out[0].frames == std::vector<std::string>{"ab", "", "cde"});
  CHECK(out[1].serial == -1);
  CHECK(out[1].frames.empty());
  CHECK(out[2].serial == 8);
  CHECK(out[2].frames == std::vector<std::string>{"f"});
  CHECK_FALSE(dec.in_pack());
}

TEST_CASE("netty_decoder refuses bad framing as soon as the header shows it",
          "[flume]") {
  netty_decoder dec{100};
  std::vector<netty_pack> out;
  SECTION("a negative frame count") {
    auto input = bytes({0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE});
    CHECK_THROWS_WITH(dec.feed(input.data(), input.size(), out),
                      Catch::Contains("-2 frames"));
  }
  SECTION("a negative frame length") {
    auto input = bytes({0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0, 0, 0});
    CHECK_THROWS_WITH(dec.feed(input.data(), input.size(), out),
                      Catch::Contains("negative length"));
  }
  SECTION("more frames than the limit holds") {
    // 8 bytes of header and 4 per frame: 24 frames need 104 bytes.
    auto input = bytes({0, 0, 0, 1, 0, 0, 0, 24});
    CHECK_THROWS_WITH(dec.feed(input.data(), input.size(), out),
                      Catch::Contains("24 frames")
                        && Catch::Contains("limit of 100 bytes"));
  }
  SECTION("a frame past the limit, before its bytes arrive") {
    // 8 + 4 + 88 = 100 bytes pass, 89 do not.
    auto fits = bytes({0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 88});
    CHECK_NOTHROW(dec.feed(fits.data(), fits.size(), out));
    netty_decoder other{100};
    auto input = bytes({0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 89});
    CHECK_THROWS_WITH(other.feed(input.data(), input.size(), out),
                      Catch::Contains("frame of 89 bytes"));
  }
  SECTION("the limit counts the whole pack") {
    // 8 + 4 + 44 fit, 4 + 44 more do not.
    auto input = pack(1, {std::string(44, 'x'), std::string(44, 'y')});
    CHECK_THROWS_WITH(dec.feed(input.data(), input.size(), out),
                      Catch::Contains("frame of 44 bytes"));
    CHECK(out.empty());
  }
}

TEST_CASE("a Flume connection serves append and appendBatch", "[flume]") {
  flume_connection conn{1 << 20};
  std::vector<request> served;
  auto replies = serve_all(conn, pack(7, {first_append()}), served);
  // The handshake's reply (match BOTH, no protocol, no hash, no meta), then
  // empty metadata, no error and Status OK.
  CHECK(replies == pack(7, {bytes({0, 0, 0, 0}), bytes({0, 0, 0})}));
  REQUIRE(served.size() == 1);
  CHECK(served[0].what == request::kind::append);
  CHECK(served[0].events == std::vector<event>{{{{"h", "v"}}, "xy"}});
  served.clear();
  replies = serve_all(conn, pack(8, second_batch()), served, status::failed);
  // No handshake any more; Status FAILED is the enum's second symbol.
  CHECK(replies == pack(8, {bytes({0, 0, 2})}));
  REQUIRE(served.size() == 1);
  CHECK(served[0].what == request::kind::append_batch);
  CHECK(served[0].events
        == std::vector<event>{{{}, "a"}, {{{"k", ""}}, ""}});
  CHECK_FALSE(conn.in_request());
}

TEST_CASE("a Flume connection answers a ping with the handshake alone",
          "[flume]") {
  // avsc's ping: a handshake without the client protocol, then empty
  // metadata and an empty message name.
  auto ping = std::string(16, 'c') + bytes({0x00}) + std::string(16, 'c')
              + bytes({0x00});
  flume_connection conn{1 << 20};
  std::vector<request> served;
  auto replies = serve_all(conn, pack(3, {ping, bytes({0, 0})}), served);
  CHECK(replies == pack(3, {bytes({0, 0, 0, 0})}));
  CHECK(served.empty());
  replies = serve_all(conn, pack(4, second_batch()), served);
  CHECK(replies == pack(4, {bytes({0, 0, 0})}));
  CHECK(served.size() == 1);
}

TEST_CASE("a Flume connection refuses a request that does not decode, "
          "with an error reply",
          "[flume]") {
  flume_connection conn{1 << 20};
  std::vector<request> served;
  // An Avro error reply (after the 12 bytes of pack header and frame
  // length): empty metadata, the error flag, branch 0 of ["string"], then
  // the message.
  auto is_error_reply = [](const std::string& replies,
                           const std::string& text) {
    return replies.size() > 15 && replies.compare(12, 3, bytes({0, 1, 0})) == 0
           && replies.find(text) != std::string::npos;
  };
  std::string replies;
  auto feed = [&](const std::string& input) {
    conn.feed(input.data(), input.size(),
              [&](request&& req) {
                served.push_back(std::move(req));
                return status::ok;
              },
              replies);
  };
  // A call served before the bad one keeps its reply.
  feed(pack(1, {first_append()}));
  replies.clear();
  SECTION("a message AvroSourceProtocol does not have") {
    CHECK_THROWS_WITH(feed(pack(2, {bytes({0x00, 0x08}) + "drop"})),
                      Catch::Contains("'drop'"));
    CHECK(is_error_reply(replies, "'drop'"));
  }
  SECTION("an event whose body is longer than the request") {
    auto call = bytes({0x00, 0x0C}) + "append" + bytes({0x00, 0x7E}) + "ab";
    CHECK_THROWS_WITH(feed(pack(2, {call})),
                      Catch::Contains("length of 63 with 2 bytes left"));
    CHECK(is_error_reply(replies, "length of 63"));
  }
  SECTION("a block count the bytes cannot hold") {
    auto call = bytes({0x00, 0x16}) + "appendBatch"
                + bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00});
    CHECK_THROWS_WITH(feed(pack(2, {call})),
                      Catch::Contains("block of 2147483647 items"));
  }
  SECTION("a number of more than ten bytes") {
    auto call = bytes({0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                       0xFF, 0xFF, 0x01});
    CHECK_THROWS_WITH(feed(pack(2, {call})),
                      Catch::Contains("more than 64 bits"));
  }
  SECTION("bytes after the last value") {
    auto frames = second_batch();
    frames.back() += "!";
    CHECK_THROWS_WITH(feed(pack(2, frames)),
                      Catch::Contains("bytes after its last value (1)"));
  }
  CHECK(served.size() == 1);
}

TEST_CASE("a Flume connection serves the calls before malformed framing",
          "[flume]") {
  flume_connection conn{1 << 20};
  std::vector<request> served;
  std::string replies;
  auto input = pack(5, {first_append()}) + bytes({0, 0, 0, 6, 0x80, 0, 0, 0});
  CHECK_THROWS_AS(conn.feed(input.data(), input.size(),
                            [&](request&& req) {
                              served.push_back(std::move(req));
                              return status::ok;
                            },
                            replies),
                  protocol_error);
  CHECK(served.size() == 1);
  CHECK(replies == pack(5, {bytes({0, 0, 0, 0}), bytes({0, 0, 0})}));
}

TEST_CASE("a Flume connection knows a request cut off", "[flume]") {
  flume_connection conn{1 << 20};
  std::vector<request> served;
  auto input = pack(1, {first_append()});
  serve_all(conn, input.substr(0, 20), served);
  CHECK(conn.in_request());
  CHECK(conn.pending_bytes() == 20);
  CHECK(served.empty());
}

TEST_CASE("a compressed Flume connection serves the requests of a zlib "
          "stream, however its bytes arrive, and deflates its replies",
          "[flume]") {
  // A sink with compression-type = deflate: one zlib stream, flushed after
  // each request.
  auto parts = support::deflate_flushed(
    {pack(7, {first_append()}), pack(8, second_batch())});
  auto input = parts[0] + parts[1];
  auto step = GENERATE(size_t{1}, size_t{3}, size_t{1000});
  flume_connection conn{1 << 20, true};
  std::vector<request> served;
  support::zlib_reader reader;
  std::string replies;
  for (size_t i = 0; i < input.size(); i += step)
    replies += reader.read(
      serve_all(conn, input.substr(i, std::min(step, input.size() - i)),
                served));
  REQUIRE(served.size() == 2);
  CHECK(served[0].events == std::vector<event>{{{{"h", "v"}}, "xy"}});
  CHECK(served[1].events
        == std::vector<event>{{{}, "a"}, {{{"k", ""}}, ""}});
  CHECK(replies
        == pack(7, {bytes({0, 0, 0, 0}), bytes({0, 0, 0})})
             + pack(8, {bytes({0, 0, 0})}));
  CHECK_FALSE(conn.in_request());
}

TEST_CASE("a compressed Flume connection refuses a client that does not "
          "compress, saying so",
          "[flume]") {
  flume_connection conn{1 << 20, true};
  std::vector<request> served;
  CHECK_THROWS_WITH(serve_all(conn, pack(0, {first_append()}), served),
                    Catch::Contains("do not inflate")
                      && Catch::Contains("leave enable_decompression off"));
  CHECK(served.empty());
}

TEST_CASE("a Flume connection without decompression refuses a client that "
          "compresses at its first two bytes",
          "[flume]") {
  auto input = support::deflate_flushed({pack(0, {first_append()})})[0];
  flume_connection conn{1 << 20};
  std::vector<request> served;
  CHECK(serve_all(conn, input.substr(0, 1), served).empty());
  CHECK_THROWS_WITH(serve_all(conn, input.substr(1), served),
                    Catch::Contains("start a zlib stream")
                      && Catch::Contains("with enable_decompression only"));
  CHECK(served.empty());
}

TEST_CASE("avro_source_requestor sends appendBatch as a Flume AvroSink does",
          "[flume]") {
  avro_source_requestor req;
  std::string out;
  std::vector<event> events{{{}, "a"}, {{{"k", ""}}, ""}};
  req.append_batch(out, events);
  req.append_batch(out, {});
  // The first call carries a handshake without hashes or protocol; the
  // events go in one block with a positive count.
  auto handshake = std::string(16, '\0') + bytes({0x00})
                   + std::string(16, '\0') + bytes({0x00});
  auto call = bytes({0x00, 0x16}) + "appendBatch";
  CHECK(out
        == pack(0, {handshake + call
                    + bytes({0x04, 0x00, 0x02, 'a', 0x02, 0x02, 'k', 0x00,
                             0x00, 0x00, 0x00})})
             + pack(1, {call + bytes({0x00})}));
  std::vector<status> statuses;
  auto replies = pack(0, {bytes({0, 0, 0, 0}), bytes({0, 0, 0})})
                 + pack(1, {bytes({0, 0, 2})});
  req.feed(replies.data(), replies.size(), statuses);
  CHECK(statuses == std::vector<status>{status::ok, status::failed});
  auto error = pack(2, {bytes({0, 1, 0, 0x06}) + "bad"});
  CHECK_THROWS_WITH(req.feed(error.data(), error.size(), statuses),
                    "the server failed the call: bad");
}

TEST_CASE("avro_source_requestor refuses a server that does not match",
          "[flume]") {
  avro_source_requestor req;
  std::vector<status> statuses;
  // HandshakeResponse with match NONE (symbol 2).
  auto reply = pack(0, {bytes({0x04, 0, 0, 0}), bytes({0, 0, 0})});
  CHECK_THROWS_WITH(req.feed(reply.data(), reply.size(), statuses),
                    Catch::Contains("handshake match NONE"));
}
