#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/collection_size_type.hpp>
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

/// Boost's binary input archive, reading `binary_oarchive`'s bytes, that
/// refuses a string or collection longer than the bytes left instead of
/// allocating for it: malformed bytes cannot make it allocate more than a
/// small multiple of their size. Throws `std::length_error`.
class bounded_iarchive
  : public boost::archive::binary_iarchive_impl<bounded_iarchive, char,
                                                std::char_traits<char>> {
public:
  using base = boost::archive::binary_iarchive_impl<bounded_iarchive, char,
                                                    std::char_traits<char>>;

  /// Reads the bytes of `in` (without Boost's archive header).
  explicit bounded_iarchive(std::istringstream& in)
    : base(in, boost::archive::no_header), in_(in) {
    init(boost::archive::no_header);
  }

  // Boost's interface calls these through the most derived archive.
  friend class boost::archive::detail::interface_iarchive<bounded_iarchive>;
  friend class boost::archive::basic_binary_iarchive<bounded_iarchive>;
  friend class boost::archive::load_access;

  using base::load;

  void load(std::string& s);

  template <class T>
  void load_override(T& t) {
    base::load_override(t);
  }

  void load_override(boost::serialization::collection_size_type& t);

private:
  // Refuses `n` items of at least one byte each if fewer bytes are left
  // (a collection of a few empty items passes).
  void check_size(uint64_t n, const char* what);

  std::istringstream& in_;
};

/// Reads `x` back from `to_bytes`' output; throws on malformed bytes.
template <class T>
void from_bytes(const std::string& bytes, T& x) {
  std::istringstream in{bytes};
  bounded_iarchive ar{in};
  ar >> x;
}

} // namespace caf_stream::detail

BOOST_SERIALIZATION_REGISTER_ARCHIVE(caf_stream::detail::bounded_iarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(caf_stream::detail::bounded_iarchive)

// Instantiated once, in serialization.cpp.
extern template class boost::archive::basic_binary_iprimitive<
  caf_stream::detail::bounded_iarchive, char, std::char_traits<char>>;
extern template class boost::archive::basic_binary_iarchive<
  caf_stream::detail::bounded_iarchive>;
extern template class boost::archive::detail::archive_serializer_map<
  caf_stream::detail::bounded_iarchive>;
