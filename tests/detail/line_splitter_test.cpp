#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "caf_stream/detail/line_splitter.hpp"

using caf_stream::detail::line_splitter;

namespace {

// What a splitter passed on, in order: "line" per stored line (as the tasks
// cut it: without "\r\n") and "!" per skipped line.
struct events {
  std::vector<std::string> seen;
  bool counts_match = true;

  void store(const char* data, size_t size, int64_t count) {
    std::string run{data, size};
    int64_t lines = 0;
    size_t first = 0;
    for (auto nl = run.find('\n'); nl != std::string::npos;
         nl = run.find('\n', first)) {
      auto end = nl > first && run[nl - 1] == '\r' ? nl - 1 : nl;
      seen.push_back(run.substr(first, end - first));
      ++lines;
      first = nl + 1;
    }
    if (lines != count || first != run.size())
      counts_match = false;
  }
};

// Feeds `reads` one by one (each at most as large as the space offered,
// the rest in the next read), then ends the stream.
std::vector<std::string> split(size_t max_line_length, size_t buffer_size,
                               const std::vector<std::string>& reads,
                               bool finish = true) {
  line_splitter lines{max_line_length, buffer_size};
  events out;
  auto store = [&](const char* data, size_t size, int64_t count) {
    out.store(data, size, count);
  };
  auto reject = [&] { out.seen.emplace_back("!"); };
  for (const auto& read : reads) {
    size_t pos = 0;
    while (pos < read.size()) {
      auto [buf, size] = lines.space();
      REQUIRE(size > 0);
      auto n = std::min(size, read.size() - pos);
      std::memcpy(buf, read.data() + pos, n);
      lines.consume(n, store, reject);
      pos += n;
    }
  }
  if (finish)
    lines.finish(store, reject);
  CHECK(out.counts_match);
  return out.seen;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("line_splitter passes lines on whole, across reads", "[detail]") {
  CHECK(split(100, 64, {"a\nbb\n"}) == strings{"a", "bb"});
  CHECK(split(100, 64, {"a", "b\nc", "", "d\n"}) == strings{"ab", "cd"});
  CHECK(split(100, 64, {"a\r\n\r\n\n"}) == strings{"a", "", ""});
  // A '\r' not before a '\n' is part of the line.
  CHECK(split(100, 64, {"a\rb\n\r"}) == strings{"a\rb", ""});
  // The last line lacks its '\n': kept at the end, not before.
  CHECK(split(100, 64, {"x\ny"}, false) == strings{"x"});
  CHECK(split(100, 64, {"x\ny"}) == strings{"x", "y"});
}

TEST_CASE("line_splitter skips a line longer than the limit up to its end",
          "[detail]") {
  // The limit is 3 bytes; "\r\n" does not count.
  CHECK(split(3, 64, {"abc\nabcd\nab\n"}) == strings{"abc", "!", "ab"});
  CHECK(split(3, 64, {"abc\r\nabcd\r\n"}) == strings{"abc", "!"});
  // Longer than the buffer: skipped while it arrives, in any number of reads.
  CHECK(split(3, 4, {"abcdefgh", "ijklmn", "op\nok\n"})
        == strings{"!", "ok"});
  // The last line, without its '\n', is checked too.
  CHECK(split(3, 64, {"ok\nabcd"}) == strings{"ok", "!"});
  CHECK(split(3, 4, {"ok\nabcdefg"}) == strings{"ok", "!"});
}

TEST_CASE("line_splitter grows its buffer up to the longest line allowed",
          "[detail]") {
  std::string line(1000, 'x');
  CHECK(split(1000, 1, {line + "\r\n", "y\n"}) == strings{line, "y"});
  CHECK(split(999, 1, {line + "\r\n", "y\n"}) == strings{"!", "y"});
  CHECK(split(1000, 1, {line}) == strings{line});
  // A line of the limit and its "\r\n" fill the grown buffer exactly.
  CHECK(split(5, 1, {"abcde\r", "\nz\n"}) == strings{"abcde", "z"});
  CHECK(split(0, 1, {"\n\r\na\n"}) == strings{"", "", "!"});
}
