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
/// `update_state_by_key`, and running counts with `map_with_state`.
struct state_graph {
  using kv = std::pair<std::string, int>;

  dstream<kv> sums;
  dstream<kv> counts;
  dstream<kv> snapshots;

  /// With `other`, a graph whose state streams differ (a node running
  /// another program).
  static state_graph build(streaming_context& ssc,
                           std::shared_ptr<rdd_queue<kv>> queue,
                           bool other = false) {
    auto in = ssc.queue_stream(std::move(queue));
    auto sums = in.update_state_by_key(
      [](const std::vector<int>& xs, std::optional<int> st) {
        auto n = st.value_or(0);
        for (auto x : xs)
          n += x;
        return std::optional<int>{n};
      });
    if (other)
      return {sums, in, in};
    auto running = [](const std::string& key, std::optional<int>,
                      state<int>& st) {
      st.update(st.get_option().value_or(0) + 1);
      return std::make_pair(key, st.get());
    };
    auto mapped = in.map_with_state(state_spec::function(running));
    return {sums, mapped, mapped.state_snapshots()};
  }
};

} // namespace caf_stream::test
