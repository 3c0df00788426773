// libFuzzer target: the parsers of the HTTP streams (detail::ndjson_parser
// and detail::sse_parser). The NDJSON parser is checked against a plain
// model (lines end in "\n", "\r\n" or "\r"; blank lines are skipped; a line
// longer than the limit is skipped with an error, reported once it is too
// long even if it never ends); both parsers must give
// the same records and errors however the bytes are split into chunks.
//
// Input: byte 0 sets the longest record (1-64 bytes), byte 1 seeds the
// sizes of the chunks; the rest is the response body.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "caf_stream/http/parsers.hpp"

#include "input.hpp"

namespace {

struct output {
  std::vector<std::string> records;
  size_t errors = 0;

  bool operator==(const output& other) const {
    return records == other.records && errors == other.errors;
  }
};

output ndjson_model(const std::string& body, size_t max) {
  output result;
  std::string line;
  auto end_line = [&] {
    if (line.size() > max)
      ++result.errors;
    else if (line.find_first_not_of(" \t") != std::string::npos)
      result.records.push_back(line);
    line.clear();
  };
  for (size_t i = 0; i < body.size(); ++i) {
    auto c = body[i];
    if (c == '\n' || c == '\r') {
      end_line();
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n')
        ++i;
    } else {
      line += c;
    }
  }
  // An unterminated line is skipped as soon as it is too long.
  if (line.size() > max)
    ++result.errors;
  return result;
}

// Never thrown: the parsers report errors through `on_error`.
struct no_error {};

// Feeds `body` in chunks whose sizes `seed` picks (0: all at once).
template <class Parser>
output run(Parser parser, const std::string& body, uint32_t seed) {
  output result;
  auto on_record = [&](std::string&& x) {
    result.records.push_back(std::move(x));
  };
  auto on_error = [&](const std::string&) { ++result.errors; };
  fuzz::feed_in_pieces<no_error>(body, seed, [&](const char* p, size_t n) {
    parser.feed(p, n, on_record, on_error);
  });
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream::http::detail;
  if (size < 2)
    return 0;
  auto max = size_t{data[0]} % 64 + 1;
  auto seed = uint32_t{data[1]} + 1;
  std::string body{reinterpret_cast<const char*>(data) + 2, size - 2};
  auto whole = run(ndjson_parser{max}, body, 0);
  if (!(whole == ndjson_model(body, max)) || !(whole == run(ndjson_parser{max},
                                                            body, seed)))
    std::abort();
  if (!(run(sse_parser{max}, body, 0) == run(sse_parser{max}, body, seed)))
    std::abort();
  return 0;
}
