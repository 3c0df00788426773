#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/http.hpp"
#include "caf_stream/testing.hpp"

#include "support/http_server.hpp"
#include "support/log_capture.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;
using support::http_server;

namespace {

using strings = std::vector<std::string>;

// Reconnects come after 1 s, 2 s, 4 s of the manual clock.
http::settings quick(http::headers hdrs = {}) {
  http::settings cfg;
  cfg.headers = std::move(hdrs);
  cfg.initial_backoff = std::chrono::seconds(1);
  cfg.max_backoff = std::chrono::seconds(4);
  return cfg;
}

bool has(const strings& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("http::create_stream takes NDJSON lines however the chunks cut "
          "them, without keep-alives",
          "[http]") {
  http_server server;
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("{\"n\":1}\n{\"n\"");
    c.send_chunk(":2}\n\n");
    c.send_chunk("\r\n{\"n\":3}\r\n{\"n\":4");
    c.send_chunk("}\n");
    c.wait_closed();
  });
  test::pipeline<std::string> p;
  p.collect(http::create_stream(p.context(), server.url("/2/stream"),
                                http::format::ndjson,
                                quick({{"Authorization", "Bearer t0ken"}})));
  p.context().start();
  REQUIRE(p.run_until([](const strings& xs) { return has(xs, "{\"n\":4}"); }));
  p.context().stop();
  CHECK(p.elements()
        == strings{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"});
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].rfind("GET /2/stream HTTP/1.1\r\n", 0) == 0);
  CHECK(contains(requests[0], "\r\nAuthorization: Bearer t0ken\r\n"));
}

TEST_CASE("an HTTP stream cut off mid-line drops that line and reconnects",
          "[http]") {
  support::log_capture log{"receiver"};
  http_server server;
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("a\nb\npar");
  });
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("c\n");
    c.wait_closed();
  });
  test::pipeline<std::string> p;
  p.collect(http::create_stream(p.context(), server.url("/"),
                                http::format::ndjson, quick()));
  p.context().start();
  REQUIRE(p.run_until([](const strings& xs) { return has(xs, "c"); }));
  p.context().stop();
  CHECK(p.elements() == strings{"a", "b", "c"});
  CHECK(server.requests().size() == 2);
  CHECK(log.contains("the record it cut off was dropped"));
}

TEST_CASE("an HTTP error is reported with its status and body, then retried",
          "[http]") {
  support::log_capture log{"receiver"};
  http_server server;
  server.add([](http_server::connection& c) {
    c.send_response(401, "{\"title\":\"Unauthorized\"}");
  });
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("x\n");
    c.wait_closed();
  });
  test::pipeline<std::string> p;
  p.collect(http::create_stream(p.context(), server.url("/"),
                                http::format::ndjson, quick()));
  p.context().start();
  REQUIRE(p.run_until([](const strings& xs) { return has(xs, "x"); }));
  p.context().stop();
  CHECK(p.elements() == strings{"x"});
  CHECK(log.contains("HTTP 401: {\"title\":\"Unauthorized\"}"));
}

TEST_CASE("an HTTP stream that stalls is closed and made again", "[http]") {
  support::log_capture log{"receiver"};
  http_server server;
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("a\n");
    c.wait_closed(); // sends nothing more
  });
  server.add([](http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    c.send_chunk("b\n");
    c.wait_closed();
  });
  auto cfg = quick();
  cfg.stall_timeout = std::chrono::seconds(1);
  test::pipeline<std::string> p;
  p.collect(http::create_stream(p.context(), server.url("/"),
                                http::format::ndjson, cfg));
  p.context().start();
  // libcurl notices the stall after a second of real time; the batches cut
  // meanwhile are empty.
  REQUIRE(p.run_until([](const strings& xs) { return has(xs, "b"); },
                      100000));
  p.context().stop();
  CHECK(p.elements() == strings{"a", "b"});
  CHECK(log.contains("no data for 1 s: the stream stalled"));
}

TEST_CASE("an SSE stream takes each event's data and reconnects with "
          "Last-Event-ID",
          "[http]") {
  http_server server;
  server.add([](http_server::connection& c) {
    c.send_head(200, "text/event-stream");
    c.send_chunk(": hello\n\nid: 1\ndata: a\n\nid: 2\nevent: x\ndata: b");
    c.send_chunk("\ndata: b2\n\ndata: cut");
  });
  server.add([](http_server::connection& c) {
    c.send_head(200, "text/event-stream");
    c.send_chunk("id: 3\ndata: c\n\n");
    c.wait_closed();
  });
  test::pipeline<std::string> p;
  p.collect(http::create_stream(p.context(), server.url("/events"),
                                http::format::sse, quick()));
  p.context().start();
  REQUIRE(p.run_until([](const strings& xs) { return has(xs, "c"); }));
  p.context().stop();
  CHECK(p.elements() == strings{"a", "b\nb2", "c"});
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(contains(requests[0], "\r\nAccept: text/event-stream\r\n"));
  CHECK_FALSE(contains(requests[0], "Last-Event-ID"));
  CHECK(contains(requests[1], "\r\nLast-Event-ID: 2\r\n"));
}

TEST_CASE("HTTP streams refuse bad arguments at the call", "[http]") {
  test::pipeline<std::string> p;
  auto refused = [&](const std::string& url, http::settings cfg) {
    try {
      http::create_stream(p.context(), url, http::format::ndjson, cfg);
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{"accepted"};
  };
  http::settings ok;
  CHECK(refused("ftp://host/x", ok)
        == "http::create_stream: 'ftp://host/x' is not an http:// or "
           "https:// URL");
  CHECK(refused("http://", ok)
        == "http::create_stream: 'http://' is not a valid URL");
  auto bad_header = ok;
  bad_header.headers = {{"X-Evil", "a\r\nHost: other"}};
  CHECK(refused("http://host/", bad_header)
        == "http::create_stream: the header 'X-Evil' is malformed (a name "
           "without ':', no line breaks)");
  auto no_stall = ok;
  no_stall.stall_timeout = std::chrono::milliseconds(500);
  CHECK(refused("http://host/", no_stall)
        == "http::create_stream: the stall timeout must be 1 s or more");
  CHECK(refused("https://api.example.com/2/stream?x=1", ok) == "accepted");
  CHECK(http::detail::backoff(std::chrono::seconds(1),
                              std::chrono::seconds(60), 1)
        == std::chrono::seconds(1));
  CHECK(http::detail::backoff(std::chrono::seconds(1),
                              std::chrono::seconds(60), 4)
        == std::chrono::seconds(8));
  CHECK(http::detail::backoff(std::chrono::seconds(1),
                              std::chrono::seconds(60), 40)
        == std::chrono::seconds(60));
}
