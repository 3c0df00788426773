#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

namespace caf_stream::detail {

template <class T, class = void>
struct has_member_serialize : std::false_type {};

template <class T>
struct has_member_serialize<
  T, std::void_t<decltype(std::declval<T&>().serialize(
       std::declval<boost::archive::binary_oarchive&>(), 0u))>>
  : std::true_type {};

template <class T, class = void>
struct has_free_serialize : std::false_type {};

template <class T>
struct has_free_serialize<
  T, std::void_t<decltype(serialize(
       std::declval<boost::archive::binary_oarchive&>(), std::declval<T&>(),
       0u))>> : std::true_type {};

/// Whether Boost.Serialization can write `T`: numbers, strings, pairs and
/// vectors of such, and types with a public member `serialize` or a free
/// `serialize` found by argument-dependent lookup.
template <class T>
struct is_serializable
  : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T>
                       || has_member_serialize<T>::value
                       || has_free_serialize<T>::value> {};

template <>
struct is_serializable<std::string> : std::true_type {};

template <class A, class B>
struct is_serializable<std::pair<A, B>>
  : std::bool_constant<is_serializable<A>::value
                       && is_serializable<B>::value> {};

template <class T, class Alloc>
struct is_serializable<std::vector<T, Alloc>> : is_serializable<T> {};

/// The Boost.Serialization bytes of `x` (checkpoints and the wire form of
/// user records). User types provide Boost's `serialize`.
template <class T>
std::string to_bytes(const T& x) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive ar{out, boost::archive::no_header};
    ar << x;
  }
  return out.str();
}

/// Reads `x` back from `to_bytes`' output; throws on malformed bytes.
template <class T>
void from_bytes(const std::string& bytes, T& x) {
  std::istringstream in{bytes};
  boost::archive::binary_iarchive ar{in, boost::archive::no_header};
  ar >> x;
}

} // namespace caf_stream::detail
