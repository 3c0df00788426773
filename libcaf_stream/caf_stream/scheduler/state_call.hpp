#pragma once

#include <cstdint>

namespace caf_stream {

/// What a state holder does with its partition (`state_operator::call`).
enum class state_call : uint8_t {
  /// Adds the entries in the input block (a checkpoint's or an initial
  /// state's) to the partition; returns an empty block.
  load,
  /// Applies the batch's partition in the input block (grouped by key) to
  /// the state; returns the stream's output for the partition.
  update,
  /// Returns the partition's entries (`state_snapshots()`).
  snapshot,
  /// Returns what a checkpoint keeps of the partition (what `load` reads).
  save,
};

} // namespace caf_stream
