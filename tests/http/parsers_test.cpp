#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "caf_stream/http/parsers.hpp"

using namespace caf_stream::http::detail;

namespace {

// What a parser made of `input`, fed in chunks of `chunk` bytes.
struct parsed {
  std::vector<std::string> records;
  std::vector<std::string> errors;
};

template <class Parser>
parsed parse(Parser& p, const std::string& input, size_t chunk) {
  parsed result;
  for (size_t i = 0; i < input.size(); i += chunk)
    p.feed(
      input.data() + i, std::min(chunk, input.size() - i),
      [&](std::string&& x) { result.records.push_back(std::move(x)); },
      [&](const std::string& e) { result.errors.push_back(e); });
  return result;
}

} // namespace

TEST_CASE("ndjson_parser takes each line that is not blank, however the "
          "bytes are split",
          "[http][parsers]") {
  auto chunk = GENERATE(size_t{1}, size_t{2}, size_t{3}, size_t{7},
                        size_t{1000});
  ndjson_parser p{64};
  auto r = parse(p,
                 "{\"a\":1}\n\n{\"b\":2}\r\n\r\n  \n{\"c\":3}\r{\"d\":4}\n"
                 "\t\n{\"e\":",
                 chunk);
  CHECK(r.records
        == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}",
                                    "{\"d\":4}"});
  CHECK(r.errors.empty());
  // A connection that closes now cuts a record off.
  CHECK(p.in_record());
  p.reset();
  CHECK_FALSE(p.in_record());
  auto rest = parse(p, "5}\n{\"f\":6}\n", chunk);
  CHECK(rest.records == std::vector<std::string>{"5}", "{\"f\":6}"});
}

TEST_CASE("ndjson_parser skips an overlong line with an error and keeps the "
          "next",
          "[http][parsers]") {
  auto chunk = GENERATE(size_t{1}, size_t{5}, size_t{1000});
  ndjson_parser p{8};
  auto r = parse(p, "12345678\n123456789012\nabc\n", chunk);
  CHECK(r.records == std::vector<std::string>{"12345678", "abc"});
  CHECK(r.errors
        == std::vector<std::string>{"a line longer than 8 bytes was skipped"});
}

TEST_CASE("sse_parser makes a record of each event's data", "[http][parsers]") {
  auto chunk = GENERATE(size_t{1}, size_t{2}, size_t{5}, size_t{1000});
  sse_parser p{64};
  // Examples of the WHATWG standard (9.2.6), and more.
  auto r = parse(p,
                 ": keep-alive\n"
                 "data: YHOO\ndata: +2\ndata: 10\n\n"
                 "event: add\r\nid: 7\r\ndata:73857293\r\n\r\n"
                 "data\n\n"
                 "data:\ndata\n\n"
                 "event: no data\n\n"
                 "data:  two spaces\rretry: 2500\r\r"
                 "unknown: field\nid\ndata: cut",
                 chunk);
  CHECK(r.records
        == std::vector<std::string>{"YHOO\n+2\n10", "73857293", "", "\n",
                                    " two spaces"});
  CHECK(r.errors.empty());
  // "id" without a value sets an empty last event id.
  CHECK(p.last_event_id().empty());
  CHECK(p.retry_ms() == 2500);
  CHECK(p.in_record());
  p.reset();
  CHECK_FALSE(p.in_record());
  auto rest = parse(p, "id: 9\ndata: next\n\n", chunk);
  CHECK(rest.records == std::vector<std::string>{"next"});
  CHECK(p.last_event_id() == "9");
}

TEST_CASE("sse_parser skips an overlong event with an error and keeps the "
          "next",
          "[http][parsers]") {
  sse_parser p{10};
  auto r = parse(p,
                 "data: 12345\ndata: 6789\n\n"
                 "data: 12345\ndata: 67890\n\n"
                 "data: ok\n\n",
                 1000);
  CHECK(r.records == std::vector<std::string>{"12345\n6789", "ok"});
  CHECK(r.errors
        == std::vector<std::string>{
          "an event larger than 10 bytes was skipped"});
}

TEST_CASE("ndjson_parser::feed_lines gives the records as newline-terminated "
          "lines, however the bytes are split",
          "[http][parsers]") {
  auto chunk = GENERATE(size_t{1}, size_t{3}, size_t{1000});
  ndjson_parser p{8};
  std::string input = "a\r\n\r\nbb\rcc\n  \n123456789\nd";
  std::string out;
  int64_t count = 0;
  std::vector<std::string> errors;
  for (size_t i = 0; i < input.size(); i += chunk)
    p.feed_lines(input.data() + i, std::min(chunk, input.size() - i), out,
                 count, [&](const std::string& e) { errors.push_back(e); });
  CHECK(out == "a\nbb\ncc\n");
  CHECK(count == 3);
  CHECK(errors == std::vector<std::string>{
          "a line longer than 8 bytes was skipped"});
  CHECK(p.in_record());
}
