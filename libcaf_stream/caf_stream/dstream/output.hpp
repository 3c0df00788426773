#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/text.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

/// How `send_to` reaches an actor of type `Actor`: `caf::actor` gets its
/// specialization from `caf_stream/actor_stream.hpp`, so that this library
/// needs no CAF. A specialization gives `make<U>(dst)`: a function
/// `(time, std::vector<U>)` that sends a batch or throws.
template <class Actor>
struct actor_output {
  static constexpr bool defined = false;
};

/// `print(num)` for one batch: the first `num` elements of `x` under Spark's
/// "Time: <ms> ms" header, with "..." when there are more.
template <class T>
void print_batch(const rdd<T>& x, time t, size_t num) {
  std::vector<std::string> first;
  for (const auto& y : x.take(num + 1))
    first.push_back(to_text(y));
  std::cout << format_print_block(t.milliseconds(), first, num) << std::flush;
}

/// `save_as_text_files` for one batch: the directory
/// `prefix-<batch ms>[.suffix]` appears whole, with a file `part-NNNNN`
/// per partition holding an element per line.
template <class T>
void save_batch_as_text_files(const rdd<T>& x, time t,
                              const std::string& prefix,
                              const std::string& suffix) {
  output_dir out{batch_file_name(prefix, suffix, t.milliseconds()),
                 "save_as_text_files"};
  save_text(x, out);
}

/// `save_as_object_files` for one batch: each partition's records in
/// Boost.Serialization form.
template <class T>
void save_batch_as_object_files(const rdd<T>& x, time t,
                                const std::string& prefix,
                                const std::string& suffix) {
  output_dir out{batch_file_name(prefix, suffix, t.milliseconds()),
                 "save_as_object_files"};
  save_objects(x, out);
}

/// The records `save_as_object_files` wrote to `dir`, one partition per
/// part file; throws `stream_error` naming a file that does not hold
/// records of `T`.
template <class T>
rdd<T> read_object_file(const std::string& dir) {
  std::vector<std::shared_ptr<const std::vector<T>>> parts;
  for (auto& [path, bytes] : read_part_files(dir, "object_file")) {
    auto part = std::make_shared<std::vector<T>>();
    try {
      from_bytes(bytes, *part);
    } catch (const std::exception& e) {
      throw stream_error(errc::source_failure,
                         "object_file: '" + path
                           + "' does not hold records of this type: "
                           + e.what());
    }
    parts.push_back(std::move(part));
  }
  return rdd<T>{std::make_shared<collection_node<T>>(std::move(parts))};
}

} // namespace caf_stream::detail
