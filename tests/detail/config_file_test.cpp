#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "caf_stream/detail/config_file.hpp"

using caf_stream::detail::scan_config_file;

namespace {

using entry = std::tuple<size_t, std::string, std::string>;

std::vector<entry> entries(const std::string& text) {
  std::vector<entry> result;
  for (const auto& x : scan_config_file(text).entries)
    result.emplace_back(x.line, x.name, x.value);
  return result;
}

} // namespace

TEST_CASE("scan_config_file reads keys with their sections and lines",
          "[detail]") {
  CHECK(entries("; a comment\n"
                "top = 1\n"
                "[stream]\n"
                "  workers = 4 ; four\r\n"
                "\n"
                "[ stream.receiver ]\n"
                "max-rate=\"a;b\"\n"
                "not an entry\n")
        == std::vector<entry>{{2, "top", "1"},
                              {4, "stream.workers", "4"},
                              {7, "stream.receiver.max-rate", "\"a;b\""}});
}

TEST_CASE("scan_config_file joins a list that spans lines", "[detail]") {
  CHECK(entries("[stream]\n"
                "state-nodes = [\"a:1\", ; first\n"
                "  \"b:2\"]\n"
                "workers = 2\n")
        == std::vector<entry>{{2, "stream.state-nodes", "[\"a:1\", \"b:2\"]"},
                              {4, "stream.workers", "2"}});
  // A '[' inside quotes opens no list.
  CHECK(entries("x = \"[\"\ny = 1\n")
        == std::vector<entry>{{1, "x", "\"[\""}, {2, "y", "1"}});
  // An unclosed list takes the rest of the file.
  CHECK(entries("x = [1,\n2,\n") == std::vector<entry>{{1, "x", "[1, 2,"}});
}

TEST_CASE("scan_config_file stops at a NUL byte", "[detail]") {
  using namespace std::string_literals;
  auto file = scan_config_file("a = 1\nb = 2\0\nc = 3\n"s);
  CHECK(file.nul_line == 2);
  REQUIRE(file.entries.size() == 1);
  CHECK(file.entries[0].name == "a");
  // Also inside a list that spans lines.
  file = scan_config_file("a = [1,\n\0]\n"s);
  CHECK(file.nul_line == 2);
  CHECK(file.entries.empty());
  CHECK(scan_config_file("a = 1\n").nul_line == 0);
}
