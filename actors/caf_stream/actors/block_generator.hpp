#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"

namespace caf_stream::detail {

class block_buffer_base;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// A worker node that can keep the copies of another node's blocks
/// (`stream.receiver.replication` 2): its address, as the driver names it,
/// and its node actor, as the driver reached it (messages to it go through
/// the driver until the two nodes are connected: the replicator connects
/// them, `spawn_block_replicator`).
struct block_peer {
  std::string address;
  caf::actor node;
};

/// Where a receiver on a worker node puts its blocks (those its block
/// generator seals and those stored whole), when they stay on that node
/// (`stream.task.placement = workers`: tasks run where their blocks are).
struct kept_blocks {
  /// The worker node's actor, which keeps them
  /// (`(put_blocks_atom, tracker, block_list)`).
  caf::actor node;
  /// The driver's tracker they are kept for: the node drops them when it
  /// goes down.
  caf::actor tracker;
  /// The node, as the driver names it.
  std::string location;
  /// Whether the records go to the driver too (`stream.receiver.replication`
  /// 2 without another worker node: a second copy), or only their count.
  bool copy_to_driver = true;
  /// The actor that copies them to a second worker node before the driver
  /// learns of them (`spawn_block_replicator`; null: none does).
  caf::actor replicator;
  /// Who hands out the blocks kept here (`block::holder`).
  std::shared_ptr<const block_holder> holder;
};

/// Numbers `blocks` (`block_store::next_id`), names `keep`'s node as their
/// location and hands them with their records to that node's actor. The
/// records stay in `blocks` only for `keep`'s replicator or with
/// `copy_to_driver`: else the tracker gets the blocks' numbers and counts.
void keep_on_node(const kept_blocks& keep, std::vector<block>& blocks);

/// Where the `store` of a receiver on a worker node hands a block stored
/// whole (`detail::block_buffer_base::attach_sink`), so that it waits for no
/// seal (Spark's `store(ArrayBuffer)` pushes its block at once): with
/// `keep`, the block stays on the node and, with a replicator, has its copy
/// on a second node first, as sealed blocks do. `store` returns once the
/// tracker answered (within `timeout`). Runs on the receiver's thread.
std::shared_ptr<detail::whole_block_sink>
make_tracker_sink(caf::actor_system& sys, caf::actor tracker,
                  duration timeout, std::optional<kept_blocks> keep = {});

/// Block generator of one receiver: seals the receiver's buffer into blocks
/// for the driver's tracker (those stored whole on the driver, and the
/// records stored one by one). With `keep`, each block also stays on its
/// worker node under a number, and the tracker gets it with its count, its
/// number and its node (and its records with `copy_to_driver`; with a
/// `replicator`, once that copied them to a second node, or with their
/// records if it could not).
/// - timer (system clock only), every block interval: seals and sends
///   `(blocks_atom, block_list)` to the tracker;
/// - `(seal_atom)` -> `block_list`: seals now and returns the blocks.
caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval,
                                 std::optional<kept_blocks> keep = {});

} // namespace caf_stream::actors
