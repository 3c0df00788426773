#pragma once

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace caf_stream::detail {

template <class T>
struct is_pair : std::false_type {};

template <class K, class V>
struct is_pair<std::pair<K, V>> : std::true_type {};

/// True for `std::pair<K, V>`: the element type of pair DStreams.
template <class T>
constexpr bool is_pair_v = is_pair<T>::value;

template <class T>
struct is_optional : std::false_type {};

template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};

template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// The element type a user function returns a container of (`flat_map`).
template <class Container>
using element_t = std::decay_t<decltype(*std::begin(std::declval<Container&>()))>;

/// The key type of a pair element type.
template <class T>
using key_t = typename T::first_type;

/// The value type of a pair element type.
template <class T>
using value_t = typename T::second_type;

/// The result and decayed argument types of a callable with one call
/// operator (a lambda, a function object or a function pointer).
template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};

template <class R, class... Ts>
struct callable_traits<R(Ts...)> {
  using result_type = R;
  using arg_types = std::tuple<std::decay_t<Ts>...>;
  static constexpr size_t num_args = sizeof...(Ts);
};

template <class R, class... Ts>
struct callable_traits<R (*)(Ts...)> : callable_traits<R(Ts...)> {};

template <class R, class C, class... Ts>
struct callable_traits<R (C::*)(Ts...)> : callable_traits<R(Ts...)> {};

template <class R, class C, class... Ts>
struct callable_traits<R (C::*)(Ts...) const> : callable_traits<R(Ts...)> {};

/// The decayed type of the `I`th argument of `F`.
template <size_t I, class F>
using arg_t = std::tuple_element_t<I, typename callable_traits<F>::arg_types>;

template <class T>
struct identity {
  using type = T;
};

/// Keeps `T` out of template argument deduction (C++20's type_identity_t).
template <class T>
using identity_t = typename identity<T>::type;

} // namespace caf_stream::detail
