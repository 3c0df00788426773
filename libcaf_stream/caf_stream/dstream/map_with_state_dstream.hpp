#pragma once

// The stream `dstream<T>::map_with_state` returns. caf_stream/dstream.hpp
// includes this file at its end (not a header of its own).

#include <memory>
#include <utility>

namespace caf_stream {

/// The stream `map_with_state` returns: the function's results, plus the
/// state after each batch.
template <class K, class V, class S, class M>
class map_with_state_dstream : public dstream<M> {
public:
  using node_type = detail::map_with_state_node<K, V, S, M>;

  map_with_state_dstream(std::shared_ptr<detail::dstream_graph> graph,
                         std::shared_ptr<node_type> node)
    : dstream<M>(graph, node), mapped_(std::move(node)) {
    // nop
  }

  /// The state of every key after each batch (all keys, not only those with
  /// data: the cost of this stream grows with the state).
  dstream<std::pair<K, S>> state_snapshots() const {
    using node = detail::state_snapshot_dstream_node<K, V, S, M>;
    auto n = std::make_shared<node>(*this->graph(), mapped_);
    this->graph()->add(n);
    return {this->graph(), std::move(n)};
  }

private:
  std::shared_ptr<node_type> mapped_;
};

} // namespace caf_stream
