#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"
#include "caf_stream/twitter.hpp"

#include "support/http_server.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;
using support::http_server;

namespace {

const char* post_1 =
  R"({"data":{"author_id":"2244994945","created_at":"2022-09-14T19:00:55.000Z",)"
  R"("entities":{"hashtags":[{"start":30,"end":35,"tag":"dogs"},)"
  R"({"start":10,"end":15,"tag":"cats"}]},"id":"1570","lang":"en",)"
  R"("text":"I love my #cats and my #dogs"},"matching_rules":[{"id":"2"}]})";

const char* post_2 =
  R"({"data":{"id":"1571","text":"no tags \u00e9t\u00e9","lang":"fr"}})";

std::string error_of(const std::string& line) {
  try {
    twitter::detail::parse_status(line);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "parsed";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("twitter::detail::parse_status reads posts of the filtered stream",
          "[twitter]") {
  twitter::status first{"1570",
                        "I love my #cats and my #dogs",
                        "2244994945",
                        "2022-09-14T19:00:55.000Z",
                        "en",
                        {"cats", "dogs"}};
  CHECK(twitter::detail::parse_status(post_1) == first);
  twitter::status second{"1571", "no tags \xc3\xa9t\xc3\xa9", "", "", "fr",
                         {}};
  CHECK(twitter::detail::parse_status(post_2) == second);
  CHECK(error_of(R"({"errors":[{"title":"operational-disconnect",)"
                 R"("detail":"This stream has been disconnected."}]})")
        == "the stream sent errors: operational-disconnect: This stream has "
           "been disconnected.");
  CHECK(error_of("{\"data\":") == "a line that is not JSON: {\"data\":");
  CHECK(error_of("[1,2]") == "a line that holds no post: [1,2]");
  CHECK(error_of(R"({"data":{"text":"x"}})")
        == "a post without an id: {\"data\":{\"text\":\"x\"}}");
}

TEST_CASE("twitter::create_stream sets its rules, then reads the posts",
          "[twitter]") {
  http_server server;
  // The rules: "old" goes, "#cats" stays, "#dogs" comes.
  server.add([](http_server::connection& c) {
    c.send_response(200, R"({"data":[{"id":"1","value":"old"},)"
                         R"({"id":"2","value":"#cats"}],"meta":{}})");
  });
  server.add([](http_server::connection& c) {
    c.send_response(200, R"({"meta":{"summary":{"deleted":1}}})");
  });
  server.add([](http_server::connection& c) {
    c.send_response(201, R"({"data":[{"id":"3","value":"#dogs"}]})");
  });
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/json");
    c.send_chunk(std::string{post_1} + "\r\n\r\n");
    c.send_chunk("{\"errors\":[{\"title\":\"x\"}]}\r\nnot json\r\n");
    c.send_chunk(std::string{post_2} + "\r\n");
    c.wait_closed();
  });
  twitter::settings cfg;
  cfg.base_url = server.url("");
  test::pipeline<twitter::status> p;
  p.collect(twitter::create_stream(p.context(), "AAAA-token",
                                   {"#cats", "#dogs"}, cfg));
  p.context().start();
  REQUIRE(p.run_until([](const std::vector<twitter::status>& xs) {
    return xs.size() >= 2;
  }));
  p.context().stop();
  auto xs = p.elements();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].id == "1570");
  CHECK(xs[0].hashtags == std::vector<std::string>{"cats", "dogs"});
  CHECK(xs[1].id == "1571");
  auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].rfind("GET /2/tweets/search/stream/rules HTTP/1.1", 0)
        == 0);
  CHECK(requests[1].rfind("POST /2/tweets/search/stream/rules HTTP/1.1", 0)
        == 0);
  CHECK(contains(requests[1], "\r\n\r\n{\"delete\":{\"ids\":[\"1\"]}}"));
  CHECK(contains(requests[2], "\r\n\r\n{\"add\":[{\"value\":\"#dogs\"}]}"));
  CHECK(requests[3].rfind("GET /2/tweets/search/stream?tweet.fields=author_id,"
                          "created_at,lang,entities HTTP/1.1",
                          0)
        == 0);
  for (const auto& r : requests)
    CHECK(contains(r, "\r\nAuthorization: Bearer AAAA-token\r\n"));
}

TEST_CASE("twitter::create_stream refuses bad arguments at the call",
          "[twitter]") {
  test::pipeline<twitter::status> p;
  auto refused = [&](const std::string& token,
                     std::vector<std::string> rules) {
    try {
      twitter::create_stream(p.context(), token, std::move(rules));
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{"accepted"};
  };
  CHECK(refused("", {"#a"}) == "twitter::create_stream: no bearer token");
  CHECK(refused("t", {})
        == "twitter::create_stream: no rule (the filtered stream delivers "
           "nothing without one)");
  CHECK(refused("t", {"#a", ""}) == "twitter::create_stream: an empty rule");
  CHECK(refused("t", {"#a"}) == "accepted");
}
