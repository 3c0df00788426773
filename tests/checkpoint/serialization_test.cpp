#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"

using namespace caf_stream;

// The wire form of records: Boost's binary archive written into a string
// and read from a part of one, without copies.

namespace {

using lines = std::vector<std::string>;

} // namespace

TEST_CASE("a vector of strings is written in one allocation of about its "
          "size",
          "[serialization]") {
  lines xs{"ab", "", "cde"};
  // Boost's layout: the vector's class information (1 + 4 bytes), its
  // size (8), its items' version (4), then each string's length (8) and
  // characters.
  auto expected = 5 + 8 + 4 + (8 + 2) + (8 + 0) + (8 + 3);
  auto bytes = detail::to_bytes(xs);
  CHECK(bytes.size() == static_cast<size_t>(expected));
  // The hint covers the bytes, with little to spare.
  auto hint = detail::bytes_hint(xs);
  CHECK(hint >= bytes.size());
  CHECK(hint <= bytes.size() + 64);
  // Records whose size it cannot tell get none.
  struct opaque {
    int x;
  };
  CHECK(detail::bytes_hint(std::vector<opaque>{{1}}) == 0);
  CHECK(detail::bytes_hint(std::string{"abc"}) == 0);
}

TEST_CASE("pairs of strings and numbers are written in one allocation of "
          "about their size",
          "[serialization]") {
  using kv = std::pair<std::string, int64_t>;
  std::vector<kv> xs{{"ab", 1}, {"xyz", 2}};
  auto bytes = detail::to_bytes(xs);
  auto hint = detail::bytes_hint(xs);
  CHECK(hint >= bytes.size());
  CHECK(hint <= bytes.size() + 64);
  std::vector<kv> back;
  detail::from_bytes(bytes, back);
  CHECK(back == xs);
}

TEST_CASE("bytes read from a part of a string stop at the part's end",
          "[serialization]") {
  auto bytes = detail::to_bytes(lines{"abc", "de"});
  // The part is the records' bytes, followed by more bytes it leaves out.
  auto frame = bytes + "xyz";
  lines whole;
  detail::from_bytes(std::string_view{frame}.substr(0, bytes.size()), whole);
  CHECK(whole == lines{"abc", "de"});
  // One byte short: the last string runs past the part, although the
  // frame's bytes go on, and it is refused.
  lines cut;
  CHECK_THROWS(detail::from_bytes(
    std::string_view{frame}.substr(0, bytes.size() - 1), cut));
}

TEST_CASE("the strings of a vector's bytes are read one by one",
          "[serialization]") {
  lines seen;
  auto note = [&](const std::string& x) { seen.push_back(x); };
  detail::for_each_string(detail::to_bytes(lines{"ab", "", "cde"}), note);
  CHECK(seen == lines{"ab", "", "cde"});
  seen.clear();
  detail::for_each_string(detail::to_bytes(lines{}), note);
  CHECK(seen.empty());
  // Cut short: the strings before the cut, then an error; none made up.
  auto bytes = detail::to_bytes(lines{"ab", "cde"});
  bytes.resize(bytes.size() - 1);
  CHECK_THROWS(detail::for_each_string(bytes, note));
  CHECK(seen == lines{"ab"});
}
