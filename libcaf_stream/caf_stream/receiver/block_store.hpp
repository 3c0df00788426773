#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/receiver/block.hpp"

namespace caf_stream {

/// The blocks a worker node's receivers sealed, kept on that node for its
/// driver's batches (the part of Spark's BlockManager on an executor that
/// holds received blocks): tasks on the node read them by pointer, other
/// nodes fetch their records as bytes in pieces, and the driver releases
/// them once no batch reads them any more.
class block_store {
public:
  /// A number for a new block, unique in this process and, from a random
  /// start, across the nodes of a cluster (a node keeps the copies of
  /// other nodes' blocks under their numbers).
  static uint64_t next_id() noexcept;

  /// Keeps `b`, which holds its records, under `b.id`, for `owner`: a
  /// number the node gives each driver it keeps blocks for.
  void put(block b, uint64_t owner = 0);

  /// The block kept under `id`, with its records; null if none is.
  const block* find(uint64_t id) const;

  /// A piece of block `id`'s records as bytes (`block::to_bytes`, made once
  /// for the first piece): at most `size` bytes from `offset` on, and how
  /// many bytes there are in all. None if no block is kept under `id`.
  /// Throws `stream_error` if the records have no `serialize`.
  std::optional<std::pair<std::string, uint64_t>>
  read(uint64_t id, uint64_t offset, uint64_t size);

  /// Forgets the blocks `ids` (the driver released them).
  void release(const std::vector<uint64_t>& ids);

  /// Forgets every block kept for `owner` (its driver went away), and
  /// returns how many that was. Blocks of the same receiver stream kept for
  /// another driver (one that took the stream over) stay.
  size_t drop_owner(uint64_t owner);

  /// The number of blocks kept.
  size_t size() const noexcept {
    return blocks_.size();
  }

private:
  struct entry {
    block b;
    uint64_t owner;
    // The records as bytes, once a piece of them was read.
    std::optional<std::string> bytes;
  };

  std::map<uint64_t, entry> blocks_;
};

} // namespace caf_stream
