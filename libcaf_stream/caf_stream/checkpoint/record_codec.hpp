#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <boost/serialization/is_bitwise_serializable.hpp>
#include <boost/serialization/utility.hpp>

namespace caf_stream::detail {

// Boost's binary archive writes a `std::size_t` for a string's length and
// a collection's size.
static_assert(sizeof(std::size_t) == sizeof(uint64_t));

/// Whether Boost's binary archive writes a `T` inside a collection as its
/// data alone (with class information before a pair type's first record):
/// a number's bytes, a string's length and characters, a pair's two parts.
template <class T>
struct has_record_bytes
  : std::bool_constant<std::is_arithmetic_v<T>
                       || std::is_same_v<T, std::string>> {};

template <class A, class B>
struct has_record_bytes<std::pair<A, B>>
  : std::bool_constant<has_record_bytes<A>::value
                       && has_record_bytes<B>::value> {};

/// Whether `to_bytes` and `from_bytes` write and read a `T` by hand, in the
/// very bytes Boost's binary archive writes for it (`record_writer`,
/// `record_reader`): a vector of strings, or of pairs of strings, numbers
/// and pairs. Boost's archive makes a locale each time and looks a pair's
/// class up by name for each record, which a shuffle's many small buckets
/// paid per bucket and per record. Boost writes a vector of numbers, or of
/// pairs of numbers alone, as one array of their memory already
/// (`is_bitwise_serializable`).
template <class T>
struct written_by_hand : std::false_type {};

template <class T>
struct written_by_hand<std::vector<T>>
  : std::bool_constant<
      has_record_bytes<T>::value
      && !boost::serialization::is_bitwise_serializable<T>::value> {};

/// The pair types whose class information was written or read so far in a
/// vector's first record.
using seen_classes = std::vector<const std::type_info*>;

/// Writes a vector of records in Boost's binary layout (`written_by_hand`):
/// the vector's class information (tracking, 1 byte, and version, 4 bytes:
/// both 0), its size (8 bytes), its items' version (4 bytes, 0), then each
/// record; a pair type's class information (5 bytes, 0) comes before its
/// first record's parts. It appends to `Out` as to a string: a string
/// (`record_writer`), `byte_count` or a `byte_out`.
template <class Out>
class basic_record_writer {
public:
  explicit basic_record_writer(Out& out) noexcept : out_(out) {
    // nop
  }

  template <class T>
  void vector(const std::vector<T>& xs) {
    out_.append(class_info_bytes, '\0');
    number(static_cast<uint64_t>(xs.size()));
    out_.append(item_version_bytes, '\0');
    seen_classes seen;
    for (size_t i = 0; i < xs.size(); ++i)
      record(xs[i], i == 0 ? &seen : nullptr);
  }

  static constexpr size_t class_info_bytes = 5;
  static constexpr size_t item_version_bytes = 4;

private:
  template <class T>
  void number(const T& x) {
    out_.append(reinterpret_cast<const char*>(&x), sizeof(T));
  }

  // Writes `x`, with the class information of the pair types not in
  // `seen` yet (a vector's first record; null for the others).
  template <class T>
  void record(const T& x, seen_classes* seen) {
    if constexpr (std::is_same_v<T, std::string>) {
      number(static_cast<uint64_t>(x.size()));
      out_.append(x.data(), x.size());
    } else if constexpr (std::is_arithmetic_v<T>) {
      number(x);
    } else {
      if (seen != nullptr
          && std::find(seen->begin(), seen->end(), &typeid(T))
               == seen->end()) {
        seen->push_back(&typeid(T));
        out_.append(class_info_bytes, '\0');
      }
      record(x.first, seen);
      record(x.second, seen);
    }
  }

  Out& out_;
};

/// Writes records at a string's end (`to_bytes`).
using record_writer = basic_record_writer<std::string>;

/// Counts the bytes a `basic_record_writer` writes, without writing them.
struct byte_count {
  size_t bytes = 0;

  void append(const char*, size_t n) noexcept {
    bytes += n;
  }

  void append(size_t n, char) noexcept {
    bytes += n;
  }
};

/// Where a writer behind a type-erased function writes bytes
/// (`generated_input::write_held`): a serializer's buffer, say. It collects
/// them in pieces of up to 64 KB, which go to `write` when full and at
/// `flush` (a virtual call per record would cost more than its copy).
class byte_out {
public:
  virtual ~byte_out() = default;

  /// Appends the `n` bytes at `p`.
  void append(const char* p, size_t n) {
    written_ += n;
    if (n > piece_.size() - used_) {
      flush();
      if (n >= piece_.size()) {
        write(p, n);
        return;
      }
    }
    std::memcpy(piece_.data() + used_, p, n);
    used_ += n;
  }

  /// Appends `n` copies of `c`.
  void append(size_t n, char c) {
    char buf[16];
    std::memset(buf, c, sizeof(buf));
    for (size_t k = 0; k < n; k += sizeof(buf))
      append(buf, std::min(sizeof(buf), n - k));
  }

  /// Writes the bytes that wait in the piece.
  void flush() {
    if (used_ > 0)
      write(piece_.data(), used_);
    used_ = 0;
  }

  /// The bytes appended so far.
  size_t written() const noexcept {
    return written_;
  }

protected:
  virtual void write(const char* p, size_t n) = 0;

private:
  std::array<char, 64 * 1024> piece_;
  size_t used_ = 0;
  size_t written_ = 0;
};

/// Reads what `record_writer` (or Boost's binary archive, for the same
/// types) wrote. Bytes that end inside a record, or a size larger than the
/// bytes left could hold, throw `std::length_error` (a bool that is not 0
/// or 1 `std::invalid_argument`): malformed bytes cannot make it allocate
/// more than a small multiple of their size. Class information other than
/// `record_writer`'s makes it give up (`vector` and `for_each` answer
/// false, before they took a record), for Boost's archive to read them.
class record_reader {
public:
  explicit record_reader(std::string_view in) noexcept : in_(in) {
    // nop
  }

  /// Reads `xs`; false, with `xs` cleared, if the bytes are not in
  /// `record_writer`'s form.
  template <class T>
  bool vector(std::vector<T>& xs) {
    xs.clear();
    auto n = header<T>();
    if (!n)
      return false;
    xs.reserve(*n);
    if (!records<T>(*n, [&](T& x) { xs.push_back(std::move(x)); })) {
      xs.clear();
      return false;
    }
    return true;
  }

  /// Calls `f(x)` for each record of a vector of `T`, read into one `T` in
  /// turn; false if the bytes are not in `record_writer`'s form.
  template <class T, class F>
  bool for_each(F&& f) {
    auto n = header<T>();
    return n && records<T>(*n, f);
  }

private:
  // The fewest bytes a `T` takes.
  template <class T>
  static constexpr size_t least_bytes() {
    if constexpr (std::is_same_v<T, std::string>)
      return sizeof(uint64_t);
    else if constexpr (std::is_arithmetic_v<T>)
      return sizeof(T);
    else
      return least_bytes<typename T::first_type>()
             + least_bytes<typename T::second_type>();
  }

  // A vector's size; none if its header is not `record_writer`'s. Throws
  // if the bytes left cannot hold that many records of `T`.
  template <class T>
  std::optional<uint64_t> header() {
    uint64_t n = 0;
    if (!zeros(record_writer::class_info_bytes) || !number(n)
        || !zeros(record_writer::item_version_bytes))
      return std::nullopt;
    if (n > in_.size() / least_bytes<T>())
      throw std::length_error("a collection of " + std::to_string(n)
                              + " items with " + std::to_string(in_.size())
                              + " bytes left");
    return n;
  }

  // Reads `n` records into one `T` in turn, calling `f` for each.
  template <class T, class F>
  bool records(uint64_t n, F&& f) {
    seen_classes seen;
    T x{};
    for (uint64_t i = 0; i < n; ++i) {
      if (!record(x, i == 0 ? &seen : nullptr))
        return false;
      f(x);
    }
    return true;
  }

  // Takes `n` bytes; throws if fewer are left.
  const char* take(size_t n) {
    if (n > in_.size())
      throw std::length_error("the bytes end inside a record: "
                              + std::to_string(n) + " bytes wanted, "
                              + std::to_string(in_.size()) + " left");
    auto result = in_.data();
    in_.remove_prefix(n);
    return result;
  }

  // Takes `n` bytes: whether they are all 0.
  bool zeros(size_t n) {
    auto p = take(n);
    return std::all_of(p, p + n, [](char c) { return c == 0; });
  }

  template <class T>
  bool number(T& x) {
    if constexpr (std::is_same_v<T, bool>) {
      // Anything but 0 or 1 would be an invalid bool.
      auto byte = static_cast<unsigned char>(*take(1));
      if (byte > 1)
        throw std::invalid_argument("a bool's byte is "
                                    + std::to_string(byte));
      x = byte == 1;
    } else {
      std::memcpy(&x, take(sizeof(T)), sizeof(T));
    }
    return true;
  }

  template <class T>
  bool record(T& x, seen_classes* seen) {
    if constexpr (std::is_same_v<T, std::string>) {
      uint64_t n = 0;
      number(n);
      auto p = take(n);
      x.assign(p, n);
      return true;
    } else if constexpr (std::is_arithmetic_v<T>) {
      return number(x);
    } else {
      if (seen != nullptr
          && std::find(seen->begin(), seen->end(), &typeid(T))
               == seen->end()) {
        seen->push_back(&typeid(T));
        if (!zeros(record_writer::class_info_bytes))
          return false;
      }
      return record(x.first, seen) && record(x.second, seen);
    }
  }

  std::string_view in_;
};

} // namespace caf_stream::detail
