#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace caf_stream {

/// How `print` and `save_as_text_files` render an element. Pairs render as
/// `(key,value)` (Spark's tuples), optionals as `Some(x)` / `None`, vectors as
/// `[a, b]`, booleans as `true` / `false`, everything else with `operator<<`.
/// Specialize it for types that have no `operator<<`.
template <class T, class = void>
struct text_format;

/// Writes the text form of `x` to `os`.
template <class T>
void write_text(std::ostream& os, const T& x) {
  text_format<T>::write(os, x);
}

/// The text form of `x`.
template <class T>
std::string to_text(const T& x) {
  std::ostringstream os;
  write_text(os, x);
  return std::move(os).str();
}

namespace detail {

template <class T, class = void>
struct has_ostream_operator : std::false_type {};

template <class T>
struct has_ostream_operator<
  T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
  : std::true_type {};

} // namespace detail

template <class T, class>
struct text_format {
  static void write(std::ostream& os, const T& x) {
    static_assert(detail::has_ostream_operator<T>::value,
                  "print and save_as_text_files need operator<< for the "
                  "element type, or a specialization of "
                  "caf_stream::text_format<T>");
    os << x;
  }
};

template <>
struct text_format<bool> {
  static void write(std::ostream& os, bool x) {
    os << (x ? "true" : "false");
  }
};

template <class A, class B>
struct text_format<std::pair<A, B>> {
  static void write(std::ostream& os, const std::pair<A, B>& x) {
    os << '(';
    write_text(os, x.first);
    os << ',';
    write_text(os, x.second);
    os << ')';
  }
};

template <class T>
struct text_format<std::optional<T>> {
  static void write(std::ostream& os, const std::optional<T>& x) {
    if (!x) {
      os << "None";
      return;
    }
    os << "Some(";
    write_text(os, *x);
    os << ')';
  }
};

template <class T, class A>
struct text_format<std::vector<T, A>> {
  static void write(std::ostream& os, const std::vector<T, A>& xs) {
    os << '[';
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i > 0)
        os << ", ";
      write_text(os, xs[i]);
    }
    os << ']';
  }
};

namespace detail {

/// Spark's `print` block: the header, up to `num` elements, "..." if
/// `first` holds more (callers pass `take(num + 1)`), and a blank line.
std::string format_print_block(int64_t batch_ms,
                               const std::vector<std::string>& first,
                               size_t num);

/// Spark's `rddToFileName`: `prefix-<ms>[.suffix]`, just `<ms>` without
/// a prefix.
std::string batch_file_name(const std::string& prefix,
                            const std::string& suffix, int64_t batch_ms);

/// The contents of the `part-NNNNN` files of `dir`, in partition order;
/// throws `stream_error` (prefixed with `what`) if `dir` is not a directory
/// or a file cannot be read.
std::vector<std::pair<std::string, std::string>>
read_part_files(const std::string& dir, const char* what);

/// An output directory while it is written (a batch's, or an RDD's): a
/// temporary sibling (`.<name>.tmp`) that `commit` moves into place with
/// `_SUCCESS`, replacing what a previous run of the same batch left, or,
/// without `replace`, refused at once if the directory exists (Spark's
/// rule for `saveAsTextFile`). Until then it is listed among the
/// temporary outputs (`remove_temporary_outputs`); one that is not
/// committed (a task failed) is removed. Its errors are `stream_error`s
/// that name the operation `what` ("save_as_text_files").
class output_dir {
public:
  output_dir(std::string final_dir, std::string what, bool replace = true);

  ~output_dir();

  output_dir(const output_dir&) = delete;

  output_dir& operator=(const output_dir&) = delete;

  /// Writes partition `index` as `part-NNNNN`, one line per element.
  void write_lines(size_t index, const std::vector<std::string>& lines) const;

  /// Writes partition `index` as `part-NNNNN` holding `bytes`.
  void write_bytes(size_t index, const std::string& bytes) const;

  void commit();

private:
  std::string final_;
  std::string tmp_;
  std::string what_;
  bool replace_;
  bool committed_ = false;
};

/// Removes the output directories being written now (a program that has to
/// end at once leaves no partial output behind).
void remove_temporary_outputs() noexcept;

} // namespace detail
} // namespace caf_stream
