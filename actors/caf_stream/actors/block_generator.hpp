#pragma once

#include <memory>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/duration.hpp"

namespace caf_stream::detail {

class block_buffer_base;

} // namespace caf_stream::detail

namespace caf_stream::actors {

/// Block generator of one receiver: seals the receiver's buffer into blocks.
/// On a worker node (`on_worker`) the blocks leave the buffer's queue
/// (`stream.block-queue-size`) as they leave for the driver's tracker;
/// otherwise when a batch gets them.
/// - timer (system clock only), every block interval: seals and sends
///   `(blocks_atom, block_list)` to the tracker;
/// - `(seal_atom)` -> `block_list`: seals now and returns the blocks.
caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval,
                                 bool on_worker = false);

} // namespace caf_stream::actors
