// A word count built against an installed caf-stream: runs one batch of the
// lines "a b" and "a" and checks the counts (a 2, b 1).

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

int main() {
  using namespace caf_stream;
  using count = std::pair<std::string, int64_t>;
  auto out = testing::run_operation(
    std::vector<std::vector<std::string>>{{"a b", "a"}},
    [](const dstream<std::string>& lines) {
      return lines
        .flat_map([](const std::string& line) {
          std::vector<std::string> words;
          std::istringstream in{line};
          for (std::string w; in >> w;)
            words.push_back(w);
          return words;
        })
        .map([](const std::string& w) { return count{w, 1}; })
        .reduce_by_key([](int64_t x, int64_t y) { return x + y; });
    },
    1);
  if (out.size() != 1)
    return 1;
  auto counts = out[0];
  std::sort(counts.begin(), counts.end());
  for (auto& [w, n] : counts)
    std::printf("%s %lld\n", w.c_str(), static_cast<long long>(n));
  return counts == std::vector<count>{{"a", 2}, {"b", 1}} ? 0 : 1;
}
