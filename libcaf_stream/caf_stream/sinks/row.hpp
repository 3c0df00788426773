#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "caf_stream/kafka/types.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::sinks {

/// A column value of type BLOB.
using blob = std::vector<uint8_t>;

/// One column value of a row that a database sink writes: NULL, INTEGER,
/// REAL, TEXT or BLOB.
using value = std::variant<std::monostate, int64_t, double, std::string, blob>;

/// One row, its values in column order.
using row = std::vector<value>;

/// The SQL type of a column and whether it may be NULL, as the C++ type of
/// the value says (`std::optional` columns may be NULL).
struct column_type {
  const char* sql_type;
  bool nullable;
};

/// How a database sink (`save_to_sqlite`, `save_to_postgresql`) writes its
/// table.
struct table_options {
  /// The column names, in the order of the row function's tuple. Empty: rows
  /// are inserted by position into an existing table.
  std::vector<std::string> columns;

  /// Creates the table if it is missing, with one column per name, typed
  /// after the tuple's C++ types (needs `columns`).
  bool create_if_missing = false;

  /// Upserts by these key columns (a subset of `columns`): a row whose key
  /// is in the table replaces its other columns (`on conflict (key) do
  /// update`), as running totals need. A created table gets them as its
  /// primary key; an existing one needs a unique index on them.
  std::vector<std::string> upsert_key;

  /// The name under which the progress table records the batches this sink
  /// wrote (default: the table's name). A graph's sinks into one database
  /// need names of their own: a second with a taken name is refused.
  std::string sink_name;

  /// The Kafka offset ranges of each batch (`kafka_dstream::batch_offsets()`)
  /// to store in the table `caf_stream_offsets` in the batch's transaction:
  /// the rows and the offsets they came from commit together, and
  /// `sqlite_offsets` / `postgresql_offsets` give `kafka::assign` where to
  /// start (Spark's guide: offsets in your own data store).
  std::function<std::vector<kafka::offset_range>(time)> kafka_offsets;
};

namespace detail {

template <class T>
struct is_tuple_like : std::false_type {};

template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};

template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

template <class T>
struct sql_value {
  static constexpr bool supported = false;
};

template <>
struct sql_value<bool> {
  static constexpr bool supported = true;
  static constexpr column_type type{"INTEGER", false};
  static value convert(bool x) {
    return int64_t{x ? 1 : 0};
  }
};

template <class T>
struct integral_value {
  static constexpr bool supported = true;
  static constexpr column_type type{"INTEGER", false};
  static value convert(T x) {
    return static_cast<int64_t>(x);
  }
};

template <>
struct sql_value<char> : integral_value<char> {};
template <>
struct sql_value<signed char> : integral_value<signed char> {};
template <>
struct sql_value<unsigned char> : integral_value<unsigned char> {};
template <>
struct sql_value<short> : integral_value<short> {};
template <>
struct sql_value<unsigned short> : integral_value<unsigned short> {};
template <>
struct sql_value<int> : integral_value<int> {};
template <>
struct sql_value<unsigned> : integral_value<unsigned> {};
template <>
struct sql_value<long> : integral_value<long> {};
template <>
struct sql_value<long long> : integral_value<long long> {};
// Unsigned 64-bit values above INT64_MAX do not fit a SQL INTEGER.
template <>
struct sql_value<unsigned long> : integral_value<unsigned long> {};
template <>
struct sql_value<unsigned long long> : integral_value<unsigned long long> {};

template <class T>
struct floating_value {
  static constexpr bool supported = true;
  static constexpr column_type type{"REAL", false};
  static value convert(T x) {
    return static_cast<double>(x);
  }
};

template <>
struct sql_value<float> : floating_value<float> {};
template <>
struct sql_value<double> : floating_value<double> {};

template <>
struct sql_value<std::string> {
  static constexpr bool supported = true;
  static constexpr column_type type{"TEXT", false};
  static value convert(const std::string& x) {
    return x;
  }
};

template <>
struct sql_value<std::string_view> {
  static constexpr bool supported = true;
  static constexpr column_type type{"TEXT", false};
  static value convert(std::string_view x) {
    return std::string{x};
  }
};

template <>
struct sql_value<const char*> {
  static constexpr bool supported = true;
  static constexpr column_type type{"TEXT", false};
  static value convert(const char* x) {
    return x != nullptr ? value{std::string{x}} : value{};
  }
};

template <>
struct sql_value<blob> {
  static constexpr bool supported = true;
  static constexpr column_type type{"BLOB", false};
  static value convert(const blob& x) {
    return x;
  }
};

template <class T>
struct sql_value<std::optional<T>> {
  static constexpr bool supported = sql_value<T>::supported;
  static constexpr column_type type{sql_value<T>::type.sql_type, true};
  static value convert(const std::optional<T>& x) {
    return x ? sql_value<T>::convert(*x) : value{};
  }
};

template <class T>
constexpr bool is_sql_value_v = sql_value<std::decay_t<T>>::supported;

template <class Tuple, size_t... Is>
constexpr bool all_sql_values(std::index_sequence<Is...>) {
  return (is_sql_value_v<std::tuple_element_t<Is, Tuple>> && ...);
}

template <class Tuple, size_t... Is>
std::vector<column_type> tuple_column_types(std::index_sequence<Is...>) {
  return {sql_value<std::decay_t<std::tuple_element_t<Is, Tuple>>>::type...};
}

} // namespace detail

/// Whether a row function's result `Tuple` (a `std::tuple` or `std::pair`
/// of integers, floating-point numbers, strings, `blob`s or `std::optional`s
/// of them) can be written as a row.
template <class Tuple>
constexpr bool is_row_v = [] {
  if constexpr (detail::is_tuple_like<Tuple>::value)
    return detail::all_sql_values<Tuple>(
      std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  else
    return false;
}();

/// The column types of rows made from `Tuple`.
template <class Tuple>
std::vector<column_type> column_types() {
  static_assert(is_row_v<Tuple>, "a database sink's row function must return "
                                 "a std::tuple or std::pair of integers, "
                                 "floating-point numbers, std::string, "
                                 "sinks::blob or std::optional of them");
  return detail::tuple_column_types<Tuple>(
    std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

/// The row made from `x`.
template <class Tuple>
row to_row(const Tuple& x) {
  static_assert(is_row_v<Tuple>, "a database sink's row function must return "
                                 "a std::tuple or std::pair of integers, "
                                 "floating-point numbers, std::string, "
                                 "sinks::blob or std::optional of them");
  return std::apply(
    [](const auto&... xs) {
      return row{detail::sql_value<std::decay_t<decltype(xs)>>::convert(xs)...};
    },
    x);
}

} // namespace caf_stream::sinks
