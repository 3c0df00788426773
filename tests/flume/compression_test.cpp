#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <zlib.h>

#include "caf_stream/flume/compression.hpp"

#include "support/zlib_stream.hpp"

using namespace caf_stream::flume::detail;

namespace {

// 200 KB of lines that compress, with a counter so that they are not all
// alike.
std::string some_text() {
  std::string result;
  for (int i = 0; result.size() < 200 * 1000; ++i)
    result += "event " + std::to_string(i * 7919 % 100003)
              + " from the agent's channel\n";
  return result;
}

// `text` as one whole zlib stream, by zlib's one-shot call.
std::string compressed(const std::string& text) {
  auto size = compressBound(text.size());
  std::string result(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(result.data()), &size,
                reinterpret_cast<const Bytef*>(text.data()), text.size(), 6)
      != Z_OK)
    throw std::runtime_error("compress2 failed");
  result.resize(size);
  return result;
}

// Feeds `bytes` to `in` in reads of `step` bytes; returns the pieces.
std::vector<std::string> inflate_in_steps(inflater& in,
                                          const std::string& bytes,
                                          size_t step) {
  std::vector<std::string> pieces;
  for (size_t i = 0; i < bytes.size(); i += step)
    in.feed(bytes.data() + i, std::min(step, bytes.size() - i),
            [&](const char* data, size_t n) { pieces.emplace_back(data, n); });
  return pieces;
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string result;
  for (const auto& x : pieces)
    result += x;
  return result;
}

} // namespace

TEST_CASE("an inflater reads a zlib stream however its bytes arrive",
          "[flume]") {
  auto text = some_text();
  auto bytes = compressed(text);
  auto step = GENERATE(size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 30);
  inflater in;
  auto pieces = inflate_in_steps(in, bytes, step);
  CHECK(joined(pieces) == text);
  CHECK(in.total_out() == text.size());
}

TEST_CASE("an inflater hands a small input that inflates to much over in "
          "pieces",
          "[flume]") {
  std::string zeros(10 * 1000 * 1000, '\0');
  auto bytes = compressed(zeros);
  REQUIRE(bytes.size() < 20 * 1000);
  inflater in;
  auto pieces = inflate_in_steps(in, bytes, bytes.size());
  CHECK(pieces.size() >= zeros.size() / inflater::piece_size);
  CHECK(std::all_of(pieces.begin(), pieces.end(), [](const std::string& x) {
    return x.size() <= inflater::piece_size;
  }));
  CHECK(joined(pieces) == zeros);
}

TEST_CASE("an inflater reads the flushed writes of a stream that goes on",
          "[flume]") {
  auto parts = support::deflate_flushed({"first request", "", "second"});
  inflater in;
  std::vector<std::string> seen;
  for (const auto& part : parts)
    seen.push_back(joined(inflate_in_steps(in, part, part.size())));
  CHECK(seen == std::vector<std::string>{"first request", "", "second"});
}

TEST_CASE("an inflater refuses bytes that are no zlib stream, and bytes "
          "after its end",
          "[flume]") {
  auto ignore = [](const char*, size_t) {};
  SECTION("no zlib header") {
    inflater in;
    const char raw[] = "\0\0\0\1 a Netty pack";
    std::string bytes(raw, sizeof(raw) - 1);
    CHECK_THROWS_AS(in.feed(bytes.data(), bytes.size(), ignore),
                    compression_error);
  }
  SECTION("a damaged stream") {
    auto bytes = compressed(some_text());
    bytes[bytes.size() / 2] = static_cast<char>(~bytes[bytes.size() / 2]);
    bytes[bytes.size() / 2 + 1] = '\xFF';
    inflater in;
    CHECK_THROWS_AS(in.feed(bytes.data(), bytes.size(), ignore),
                    compression_error);
  }
  SECTION("bytes after the end") {
    auto bytes = compressed("the only message") + "more";
    inflater in;
    std::string seen;
    CHECK_THROWS_WITH(in.feed(bytes.data(), bytes.size(),
                              [&](const char* data, size_t n) {
                                seen.append(data, n);
                              }),
                      Catch::Contains("4 bytes after the end"));
    CHECK(seen == "the only message");
  }
}

TEST_CASE("a deflater's every write inflates whole at once", "[flume]") {
  std::vector<std::string> messages{"a reply", some_text(), "", "last"};
  deflater out;
  support::zlib_reader reader;
  for (const auto& msg : messages) {
    std::string bytes;
    out.write(msg, bytes);
    CHECK(bytes.empty() == msg.empty());
    CHECK(reader.read(bytes) == msg);
  }
}

TEST_CASE("starts_like_zlib knows the headers zlib and Netty write",
          "[flume]") {
  struct row {
    std::string bytes;
    bool zlib;
  };
  auto x = GENERATE(row{"\x78\x9C", true},            // level 6, the default
                    row{"\x78\x01", true},            // level 1
                    row{"\x78\xDA", true},            // level 9
                    row{"\x78\x5E", true},            // levels 2 to 5
                    row{"\x78\x9D", false},           // the check fails
                    row{"\x68\x81", false},           // a 16 KiB window
                    row{std::string(2, '\0'), false},  // a serial of 0
                    row{"\x78", false});              // too short
  CHECK(starts_like_zlib(x.bytes) == x.zlib);
}
