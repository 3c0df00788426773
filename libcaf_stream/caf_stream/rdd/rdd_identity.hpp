#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "caf_stream/rdd/rdd_node.hpp"

namespace caf_stream::detail {

/// Spark's identity and lineage methods of an RDD, which `rdd<T>` (`Rdd`,
/// with its `node()`) gets from here. A cached RDD (`cache`) is the RDD it
/// keeps, as in Spark: the same id and name.
template <class Rdd>
class rdd_identity {
public:
  /// Spark's `id`: a number no other RDD of this process has.
  uint64_t id() const noexcept {
    return shown_node(*self().node()).id();
  }

  /// Spark's `name`: what `set_name` gave, empty if nothing did.
  std::string name() const {
    return shown_node(*self().node()).name();
  }

  /// Spark's `setName`: names this RDD, in `to_debug_string` too, and
  /// returns it. Its copies share the name.
  const Rdd& set_name(std::string name) const {
    shown_node(*self().node()).set_name(std::move(name));
    return self();
  }

  /// Spark's `toDebugString`: this RDD and its lineage, one line each,
  /// "(partitions) [name ]Kind[id] [storage]" (Spark's RDD class names,
  /// without the call site), laid out as Spark's: a narrow parent under
  /// "|", a shuffle's parents each under "+-" and indented a step further.
  std::string to_debug_string() const {
    return debug_string(*self().node());
  }

private:
  const Rdd& self() const noexcept {
    return static_cast<const Rdd&>(*this);
  }
};

} // namespace caf_stream::detail
