// libFuzzer target: the framing of `socket_text_stream` (detail::line_splitter)
// and the cutting of a lines block into strings (detail::for_each_line),
// checked against a plain model of Spark's SocketReceiver: split on '\n', a
// trailing '\r' dropped, a line longer than the limit skipped.
//
// Input: byte 0 sets the longest line (0-63 bytes), byte 1 the splitter's
// first buffer size (1-64 bytes), byte 2 seeds the sizes of the reads; the
// rest is the stream.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/detail/line_splitter.hpp"
#include "caf_stream/receiver/block.hpp"

namespace {

// A line passed on, or none for a line skipped for its length.
using line = std::optional<std::string>;

std::vector<line> model(const std::string& stream, size_t max) {
  std::vector<line> result;
  size_t first = 0;
  while (first < stream.size()) {
    auto nl = stream.find('\n', first);
    auto end = nl == std::string::npos ? stream.size() : nl;
    auto x = stream.substr(first, end - first);
    if (!x.empty() && x.back() == '\r')
      x.pop_back();
    result.push_back(x.size() > max ? line{} : line{x});
    if (nl == std::string::npos)
      break;
    first = nl + 1;
  }
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream;
  if (size < 3)
    return 0;
  auto max = size_t{data[0]} % 64;
  auto buffer_size = size_t{data[1]} % 64 + 1;
  auto seed = uint32_t{data[2]};
  std::string stream{reinterpret_cast<const char*>(data) + 3, size - 3};
  detail::line_splitter lines{max, buffer_size};
  // The runs the receiver would store, as a block's text holds them.
  detail::text_chunks text;
  std::vector<line> seen;
  auto flush = [&] {
    detail::for_each_line(text, [&](const std::string& x) {
      seen.push_back(x);
    });
    text.clear();
  };
  auto store = [&](const char* first, size_t n, int64_t count) {
    if (n == 0 || first[n - 1] != '\n'
        || std::count(first, first + n, '\n') != count)
      std::abort();
    text.emplace_back(first, n);
  };
  auto reject = [&] {
    flush();
    seen.emplace_back();
  };
  size_t pos = 0;
  while (pos < stream.size()) {
    auto [buf, room] = lines.space();
    if (room == 0)
      std::abort();
    seed = seed * 1103515245u + 12345u;
    auto n = std::min({room, stream.size() - pos, size_t{(seed >> 16) % 17 + 1}});
    std::memcpy(buf, stream.data() + pos, n);
    lines.consume(n, store, reject);
    pos += n;
  }
  lines.finish(store, reject);
  flush();
  if (seen != model(stream, max))
    std::abort();
  return 0;
}
