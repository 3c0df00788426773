#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/dstream/state.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

/// The node of `update_state_by_key` on a stream of `T = std::pair<K, V>`:
/// `f` is `f(const std::vector<V>&, std::optional<S>) -> std::optional<S>`
/// or `f(time, const K&, const std::vector<V>&, std::optional<S>) ->
/// std::optional<S>`; `S = void` takes the state type from `f`'s result.
/// `initial` is `std::nullopt` or an `rdd<std::pair<K, S>>`.
template <class T, class S, class F, class Initial>
auto make_update_state_node(dstream_graph& graph,
                            std::shared_ptr<dstream_node<T>> parent, F f,
                            size_t num_partitions, Initial initial) {
  using k = key_t<T>;
  using v = value_t<T>;
  using values = std::vector<v>;
  constexpr bool with_time = callable_traits<F>::num_args == 4;
  using r = typename callable_traits<F>::result_type;
  static_assert(is_optional<std::decay_t<r>>::value,
                "update_state_by_key expects f(const std::vector<V>&, "
                "std::optional<S>) -> std::optional<S> or f(time, const K&, "
                "const std::vector<V>&, std::optional<S>) -> "
                "std::optional<S>");
  using s = std::conditional_t<std::is_void_v<S>,
                               typename std::decay_t<r>::value_type, S>;
  using node = state_dstream_node<k, v, s>;
  typename node::function g;
  if constexpr (with_time)
    g = std::move(f);
  else
    g = [f](time, const k&, const values& xs, std::optional<s> st) {
      return f(xs, std::move(st));
    };
  std::optional<rdd<std::pair<k, s>>> init;
  if constexpr (!std::is_same_v<Initial, std::nullopt_t>)
    init = std::move(initial);
  return std::make_shared<node>(graph, std::move(parent), std::move(g),
                                num_partitions, std::move(init));
}

} // namespace caf_stream::detail
