#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "caf_stream/detail/type_traits.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

namespace detail {

[[noreturn]] void throw_state_misuse(const char* what);

} // namespace detail

/// The state of one key inside a `map_with_state` function (Spark's
/// `State[S]`): read it, update it or remove it. A state that is timing out
/// can be read but no longer changed.
template <class S>
class state {
public:
  using state_type = S;

  state(std::optional<S> value, bool timing_out) noexcept
    : value_(std::move(value)), timing_out_(timing_out) {
    // nop
  }

  /// Whether the key has a state.
  bool exists() const noexcept {
    return value_.has_value();
  }

  /// The state; throws `stream_error` if there is none.
  const S& get() const {
    if (!value_)
      detail::throw_state_misuse("state::get: the state is not set");
    return *value_;
  }

  /// The state, if there is one.
  const std::optional<S>& get_option() const noexcept {
    return value_;
  }

  /// Sets the state (and marks the key as active for the timeout).
  void update(S x) {
    if (removed_)
      detail::throw_state_misuse("Cannot update the state after it has been "
                                 "removed");
    if (timing_out_)
      detail::throw_state_misuse("Cannot update the state that is timing out");
    value_ = std::move(x);
    updated_ = true;
  }

  /// Removes the key's state.
  void remove() {
    if (timing_out_)
      detail::throw_state_misuse("Cannot remove the state that is timing out");
    if (removed_)
      detail::throw_state_misuse("Cannot remove the state that has already "
                                 "been removed");
    value_.reset();
    updated_ = false;
    removed_ = true;
  }

  /// Whether the function is called because the key timed out (no data for
  /// longer than the spec's timeout); the state is removed afterwards.
  bool is_timing_out() const noexcept {
    return timing_out_;
  }

  /// Runtime side: whether `update` was called.
  bool is_updated() const noexcept {
    return updated_;
  }

  /// Runtime side: whether `remove` was called.
  bool is_removed() const noexcept {
    return removed_;
  }

  /// Runtime side: takes the state out, once the function returned.
  std::optional<S> release() {
    return std::move(value_);
  }

private:
  std::optional<S> value_;
  bool timing_out_;
  bool updated_ = false;
  bool removed_ = false;
};

/// The settings of a `map_with_state` operation on `dstream<pair<K, V>>`
/// with state `S` and mapped type `M`. Made by `state_spec::function`.
template <class K, class V, class S, class M>
class basic_state_spec {
public:
  using key_type = K;
  using value_type = V;
  using state_type = S;
  using mapped_type = M;
  using function_type = std::function<std::optional<M>(
    time, const K&, const std::optional<V>&, state<S>&)>;

  explicit basic_state_spec(function_type f) : f_(std::move(f)) {
    // nop
  }

  /// The state keys start with.
  basic_state_spec& initial_state(rdd<std::pair<K, S>> x) {
    initial_ = std::move(x);
    return *this;
  }

  /// The number of state partitions (0: the default parallelism).
  basic_state_spec& num_partitions(size_t n) {
    partitions_ = n;
    return *this;
  }

  /// Removes the state of keys without data for longer than `idle`, after
  /// calling the function once more with `is_timing_out()` set.
  basic_state_spec& timeout(duration idle) {
    if (idle.count() <= 0)
      detail::throw_state_misuse("state_spec::timeout: the timeout must be "
                                 "positive");
    timeout_ = idle;
    return *this;
  }

  const function_type& function() const noexcept {
    return f_;
  }

  const std::optional<rdd<std::pair<K, S>>>& get_initial_state() const noexcept {
    return initial_;
  }

  size_t get_num_partitions() const noexcept {
    return partitions_;
  }

  const std::optional<duration>& get_timeout() const noexcept {
    return timeout_;
  }

private:
  function_type f_;
  std::optional<rdd<std::pair<K, S>>> initial_;
  size_t partitions_ = 0;
  std::optional<duration> timeout_;
};

/// Spark's `StateSpec`: `state_spec::function(f)` with
/// `f(const K&, std::optional<V>, state<S>&) -> M`, or
/// `f(time, const K&, std::optional<V>, state<S>&) -> std::optional<M>`
/// (no output for `std::nullopt`), then the builders of `basic_state_spec`.
class state_spec {
public:
  template <class F>
  static auto function(F f) {
    using traits = detail::callable_traits<F>;
    constexpr bool with_time = traits::num_args == 4;
    static_assert(traits::num_args == 3 || with_time,
                  "state_spec::function expects f(const K&, std::optional<V>, "
                  "state<S>&) -> M or f(time, const K&, std::optional<V>, "
                  "state<S>&) -> std::optional<M>");
    constexpr size_t first = with_time ? 1 : 0;
    using k = detail::arg_t<first, F>;
    using v = typename detail::arg_t<first + 1, F>::value_type;
    using s = typename detail::arg_t<first + 2, F>::state_type;
    using r = std::decay_t<typename traits::result_type>;
    if constexpr (with_time) {
      static_assert(detail::is_optional<r>::value,
                    "a map_with_state function with a time parameter must "
                    "return std::optional<M>");
      using m = typename r::value_type;
      return basic_state_spec<k, v, s, m>{std::move(f)};
    } else {
      return basic_state_spec<k, v, s, r>{
        [f](time, const k& key, const std::optional<v>& x, state<s>& st) {
          return std::optional<r>{f(key, x, st)};
        }};
    }
  }
};

} // namespace caf_stream
