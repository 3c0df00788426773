#pragma once

#include <optional>
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

template <class T>
struct identity {
  using type = T;
};

/// Keeps `T` out of template argument deduction (C++20's type_identity_t).
template <class T>
using identity_t = typename identity<T>::type;

} // namespace caf_stream::detail
