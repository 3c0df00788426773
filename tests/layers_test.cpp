#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

// The layers of the user-facing library, read off its headers: its folders
// include each other without a cycle (a header at the top level counts on
// its own), and nothing in it includes CAF or the actors' headers, so that
// `caf_stream::core` declares only what it defines.

namespace fs = std::filesystem;

namespace {

const fs::path root = fs::path{CAF_STREAM_SOURCE_DIR} / "libcaf_stream";

// Every header and source of the library, relative to `root`.
std::vector<fs::path> library_files() {
  std::vector<fs::path> result;
  for (auto& x : fs::recursive_directory_iterator(root))
    if (x.is_regular_file()
        && (x.path().extension() == ".hpp" || x.path().extension() == ".cpp"))
      result.push_back(fs::relative(x.path(), root));
  return result;
}

// The targets of `#include "..."` and `#include <...>` in `file`.
std::vector<std::string> includes_of(const fs::path& file) {
  static const std::regex include{R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])"};
  std::ifstream in{root / file};
  std::vector<std::string> result;
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, m, include))
      result.push_back(m[1]);
  return result;
}

// The layer of a header "caf_stream/dstream/graph.hpp": its folder
// ("dstream"), or the header itself at the top level ("time.hpp").
std::string layer_of(const std::string& header) {
  auto rest = header.substr(header.find('/') + 1);
  auto slash = rest.find('/');
  return slash == std::string::npos ? rest : rest.substr(0, slash);
}

// A cycle in `edges`, as "a -> b -> a", or "" if there is none.
std::string find_cycle(const std::map<std::string, std::set<std::string>>& edges) {
  std::map<std::string, int> color; // 0: new, 1: on the path, 2: done
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& x) {
    color[x] = 1;
    path.push_back(x);
    if (auto i = edges.find(x); i != edges.end())
      for (auto& y : i->second) {
        if (color[y] == 1) {
          auto first = std::find(path.begin(), path.end(), y);
          for (auto j = first; j != path.end(); ++j)
            cycle += *j + " -> ";
          cycle += y;
          return true;
        }
        if (color[y] == 0 && visit(y))
          return true;
      }
    path.pop_back();
    color[x] = 2;
    return false;
  };
  for (auto& [x, ys] : edges)
    if (color[x] == 0 && visit(x))
      return cycle;
  return "";
}

} // namespace

TEST_CASE("the folders of the library include each other without a cycle",
          "[layers]") {
  std::map<std::string, std::set<std::string>> edges;
  size_t headers = 0;
  for (auto& file : library_files()) {
    auto name = file.generic_string();
    if (name.rfind("caf_stream/", 0) != 0)
      continue;
    ++headers;
    auto from = layer_of(name);
    for (auto& x : includes_of(file))
      if (x.rfind("caf_stream/", 0) == 0 && layer_of(x) != from)
        edges[from].insert(layer_of(x));
  }
  REQUIRE(headers > 30);
  REQUIRE(edges["dstream"].count("rdd") == 1);
  CHECK(find_cycle(edges) == "");
}

TEST_CASE("the library includes neither CAF nor the actors' headers",
          "[layers]") {
  std::vector<std::string> offending;
  for (auto& file : library_files())
    for (auto& x : includes_of(file))
      if (x.rfind("caf/", 0) == 0 || x.rfind("caf_stream/actors/", 0) == 0
          || x == "caf_stream/streaming_context.hpp"
          || x == "caf_stream/all.hpp")
        offending.push_back(file.generic_string() + " includes " + x);
  CHECK(offending == std::vector<std::string>{});
}
