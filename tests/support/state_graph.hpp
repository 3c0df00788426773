#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"

namespace caf_stream::test {

/// The graph of the state node tests, built alike by the driver (the test)
/// and by the state nodes (`state_node_child`): running sums per key with
/// `update_state_by_key`, running counts with `map_with_state`, and sums over
/// a 2 s window with the inverse function (zeros dropped).
struct state_graph {
  using kv = std::pair<std::string, int>;

  dstream<kv> sums;
  dstream<kv> counts;
  dstream<kv> snapshots;
  dstream<kv> windows;

  /// With `other`, a graph whose state streams differ (a node running
  /// another program); with `partitions`, the running sums name that
  /// partition count (0: the default parallelism).
  static state_graph build(streaming_context& ssc,
                           std::shared_ptr<rdd_queue<kv>> queue,
                           bool other = false, size_t partitions = 0) {
    auto in = ssc.queue_stream(std::move(queue));
    auto sums = in.update_state_by_key(
      [](const std::vector<int>& xs, std::optional<int> st) {
        auto n = st.value_or(0);
        for (auto x : xs)
          n += x;
        return std::optional<int>{n};
      },
      partitions);
    if (other)
      return {sums, in, in, in};
    auto running = [](const std::string& key, std::optional<int>,
                      state<int>& st) {
      st.update(st.get_option().value_or(0) + 1);
      return std::make_pair(key, st.get());
    };
    auto mapped = in.map_with_state(state_spec::function(running));
    auto windows = in.reduce_by_key_and_window(
      [](int a, int b) { return a + b; }, [](int a, int b) { return a - b; },
      std::chrono::seconds(2), std::chrono::seconds(1), 0,
      [](const kv& x) { return x.second != 0; });
    return {sums, mapped, mapped.state_snapshots(), windows};
  }
};

} // namespace caf_stream::test
