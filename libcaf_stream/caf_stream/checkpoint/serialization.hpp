#pragma once

#include <cstddef>
#include <cstdint>
#include <streambuf>
#include <string>
#include <string_view>
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

#include "caf_stream/checkpoint/record_codec.hpp"
#include "caf_stream/detail/type_traits.hpp"

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

/// A stream buffer that appends what is written to a string: an archive
/// writes into its result without a copy at the end.
class string_sink : public std::streambuf {
public:
  explicit string_sink(std::string& out) noexcept : out_(out) {
    // nop
  }

protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<size_t>(n));
    return n;
  }

  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

private:
  std::string& out_;
};

/// A stream buffer that reads the bytes of a string it does not own (they
/// must outlive it), without copying them first.
class bytes_source : public std::streambuf {
public:
  explicit bytes_source(std::string_view bytes) noexcept {
    auto* first = const_cast<char*>(bytes.data());
    setg(first, first, first + bytes.size());
  }
};

/// The bytes Boost's binary archive writes for `x` inside a collection: a
/// number's own, a string's length and characters, a pair's two parts.
template <class T>
size_t record_bytes(const T& x) {
  if constexpr (std::is_same_v<T, std::string>) {
    return sizeof(uint64_t) + x.size();
  } else if constexpr (std::is_arithmetic_v<T>) {
    return sizeof(T);
  } else {
    return record_bytes(x.first) + record_bytes(x.second);
  }
}

/// The bytes `to_bytes(x)` will write, where the records say it (a vector
/// of strings, numbers or pairs of them), with a little room for the
/// archive's headers; 0 where they do not.
template <class T>
size_t bytes_hint(const T& x) {
  if constexpr (is_vector<T>::value) {
    if constexpr (has_record_bytes<typename T::value_type>::value) {
      size_t result = 64;
      for (const auto& item : x)
        result += record_bytes(item);
      return result;
    }
  }
  return 0;
}

/// The Boost.Serialization bytes of `x` (checkpoints and the wire form of
/// user records). User types provide Boost's `serialize`. A vector of
/// records whose size `bytes_hint` knows is written into one allocation,
/// and by hand where Boost's bytes for it are known (`written_by_hand`).
template <class T>
std::string to_bytes(const T& x) {
  std::string result;
  result.reserve(bytes_hint(x));
  if constexpr (written_by_hand<T>::value) {
    record_writer{result}.vector(x);
  } else {
    string_sink out{result};
    boost::archive::binary_oarchive ar{out, boost::archive::no_header};
    ar << x;
  }
  return result;
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
  explicit bounded_iarchive(std::streambuf& in)
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

  std::streambuf& in_;
};

/// Reads `x` back from `to_bytes`' output; throws on malformed bytes.
template <class T>
void from_bytes(std::string_view bytes, T& x) {
  if constexpr (written_by_hand<T>::value)
    if (record_reader{bytes}.vector(x))
      return;
  bytes_source in{bytes};
  bounded_iarchive ar{in};
  ar >> x;
}

/// What reads a `std::vector<std::string>`'s bytes in `for_each_string`:
/// Boost reads the vector's class information in front of it, as for the
/// vector itself, then `load` reads its size and strings as Boost's
/// `load_collection` does, each into the same string.
template <class F>
struct string_visitor {
  F& f;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    namespace bs = boost::serialization;
    bs::collection_size_type count;
    ar >> count;
    if (boost::archive::library_version_type(3) < ar.get_library_version()) {
      bs::item_version_type version{0};
      ar >> version;
    }
    std::string x;
    for (size_t i = 0; i < count; ++i) {
      ar >> x;
      f(static_cast<const std::string&>(x));
    }
  }
};

/// Calls `f(x)` for each string of the `std::vector<std::string>` whose
/// bytes `to_bytes` wrote, in order, read into one string in turn: neither
/// the vector nor a string per record is made. Throws on malformed bytes.
template <class F>
void for_each_string(std::string_view bytes, F&& f) {
  auto each = [&](std::string& x) { f(static_cast<const std::string&>(x)); };
  if (record_reader{bytes}.for_each<std::string>(each))
    return;
  bytes_source in{bytes};
  bounded_iarchive ar{in};
  string_visitor<std::remove_reference_t<F>> visitor{f};
  ar >> visitor;
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
