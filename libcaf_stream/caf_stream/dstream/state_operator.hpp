#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/scheduler/state_call.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

namespace detail {

/// The readable name of a type ("std::pair<int, double>").
std::string type_name(const std::type_info& x);

} // namespace detail

/// The work of one state stream on its state: the state lives in holder
/// actors, one per partition, on this node or on a state node. A state node
/// runs the same program and builds the same graph, so the holders there
/// find the stream by its `state_id` and check its `signature`. Records
/// travel to and from the holders in blocks: by pointer on one node, as
/// Boost.Serialization bytes between nodes.
class state_operator {
public:
  virtual ~state_operator();

  /// The stream's index among the state streams of its graph, in the order
  /// they were built (the same on every node).
  int32_t state_id() const noexcept {
    return id_;
  }

  void set_state_id(int32_t id) noexcept {
    id_ = id;
  }

  /// The operation and its types, e.g. for checking that a state node runs
  /// the same stream as the driver.
  virtual std::string signature() const = 0;

  /// The operation without its types ("map_with_state"), for names in logs
  /// and metrics.
  std::string operation() const;

  /// Whether the keys, values, states and outputs can leave the node.
  virtual bool serializable() const noexcept = 0;

  /// A new, empty partition of the state, owned by its holder.
  virtual std::shared_ptr<void> make_partition() const = 0;

  /// Runs `what` on `partition` (made by `make_partition`) for batch `t`.
  virtual block call(void* partition, state_call what, time t,
                     const block& in) const = 0;

  /// The number of keys `partition` holds.
  virtual size_t num_keys(const void* partition) const = 0;

private:
  int32_t id_ = -1;
};

/// A `state_operator` whose partitions are `Partition`s and whose records
/// are made of `Ts...`: makes the partitions and gives `apply` a typed one.
template <class Partition, class... Ts>
class basic_state_operator : public state_operator {
public:
  bool serializable() const noexcept final {
    return (detail::is_serializable<Ts>::value && ...);
  }

  std::shared_ptr<void> make_partition() const final {
    return std::make_shared<Partition>();
  }

  block call(void* partition, state_call what, time t,
             const block& in) const final {
    return apply(*static_cast<Partition*>(partition), what, t, in);
  }

  size_t num_keys(const void* partition) const final {
    return keys(*static_cast<const Partition*>(partition));
  }

protected:
  /// Runs `what` on `part` for batch `t`.
  virtual block apply(Partition& part, state_call what, time t,
                      const block& in) const = 0;

  /// The number of keys `part` holds.
  virtual size_t keys(const Partition& part) const = 0;
};

namespace detail {

/// Computes every partition of `x` now, on its context's runner, into a
/// block each: the input of a state call.
template <class T>
std::vector<block> materialize_blocks(const rdd<T>& x) {
  auto& runner = x.runner();
  const auto& node = *x.node();
  node.prepare(runner);
  std::vector<block> result(node.num_partitions());
  runner.run(result.size(), [&](size_t i) {
    result[i] = make_block(0, node.materialize(i));
  });
  return result;
}

/// The RDD holding the records of `xs`, one partition per block.
template <class T>
rdd<T> rdd_of_blocks(const std::vector<block>& xs) {
  std::vector<typename collection_node<T>::partition> parts;
  parts.reserve(xs.size());
  for (const auto& x : xs)
    parts.push_back(block_records<T>(x));
  return rdd<T>{std::make_shared<collection_node<T>>(std::move(parts))};
}

} // namespace detail

} // namespace caf_stream
