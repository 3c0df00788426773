#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/duration.hpp"

namespace caf_stream::actors {

/// Copies the blocks that a receiver on a worker node keeps there to a
/// second worker node before the driver learns of them
/// (`stream.receiver.replication` 2; Spark replicates a received block to
/// another executor), detached, as it waits for the other node:
/// - `(replicate_atom, block_list xs)` -> `block_list`: `xs`, which hold
///   their records and are kept on this node (`keep_on_node`), go with
///   their records to the first of `peers` that takes them
///   (`(copy_blocks_atom, fingerprint, program, tracker, xs)` to its node
///   actor, which answers `(copy_blocks_atom, last id)`, or an error if it
///   runs another program or graph; directly: this node, `address` as the
///   driver names it, connects to a peer whose address sorts after its own
///   and asks one that sorts first to connect back (`connect_back_atom`),
///   else the copies go through the driver; over TLS too). The
///   answer names that node as their replica and holds no records. A peer
///   that is lost gets no more; one that does not answer within `timeout`
///   gets none for a while (`node_exclusion`), as one that refuses them;
///   the next is tried. If none
///   takes them, the answer holds the records: the driver's tracker keeps
///   that copy.
/// Ends with an exit message (the block generator links to it).
caf::actor spawn_block_replicator(caf::actor_system& sys, int32_t stream_id,
                                  std::string address,
                                  std::vector<block_peer> peers,
                                  caf::actor tracker, duration timeout,
                                  std::string fingerprint,
                                  std::string program);

} // namespace caf_stream::actors
