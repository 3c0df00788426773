#pragma once

#include <memory>
#include <optional>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/duration.hpp"

namespace caf_stream::detail {

class block_buffer_base;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Where the block generator of a receiver on a worker node puts the blocks
/// it seals, when they stay on that node (`stream.task.placement =
/// workers`: tasks run where their blocks are).
struct kept_blocks {
  /// The worker node's actor, which keeps them
  /// (`(put_blocks_atom, block_list)`).
  caf::actor node;
  /// The node, as the driver names it.
  std::string location;
  /// Whether the records go to the driver too (`stream.receiver.replication`
  /// 2: a second copy), or only their count.
  bool copy_to_driver = true;
};

/// Block generator of one receiver: seals the receiver's buffer into blocks.
/// On a worker node (`on_worker`) the blocks leave the buffer's queue
/// (`stream.block-queue-size`) as they leave for the driver's tracker;
/// otherwise when a batch gets them. With `keep`, each block also stays on
/// its worker node under a number, and the tracker gets it with its count,
/// its number and its node (and its records with `copy_to_driver`).
/// - timer (system clock only), every block interval: seals and sends
///   `(blocks_atom, block_list)` to the tracker;
/// - `(seal_atom)` -> `block_list`: seals now and returns the blocks.
caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval,
                                 bool on_worker = false,
                                 std::optional<kept_blocks> keep = {});

} // namespace caf_stream::actors
