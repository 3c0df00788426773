#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/duration.hpp"
#include "caf_stream/receiver/block.hpp"

namespace caf_stream::actors {

/// The actor of the worker node at an address as this process reaches it
/// (connected to it itself), for a block that names `named` there, or null
/// if it cannot.
using node_reach = std::function<caf::actor(const std::string& address,
                                            const caf::actor& named)>;

/// The records of block `b`, which worker nodes keep (`b.remote()`), from
/// the node's actor (`block::holder`) or, if that fails, from the node
/// that keeps its copy (`block::replica`; first if that is this process's
/// node): by pointer from this process's node, else as bytes in pieces of
/// at most `chunk` bytes, one at a time (CAF 0.17's BASP has no flow
/// control). Blocks the calling thread, which must not be one of the actor
/// system's scheduler threads (the job executor's or a task host's).
/// With `reach`, a node is asked through the actor `reach` gives for its
/// address rather than the one the block names: a handle that came from
/// another node may reach its node through that one (CAF 0.17 routes a
/// message to a node the process is not connected to through the node it
/// learned the handle from, and keeps that route when that node is gone).
/// A node that keeps a copy too gets half of `timeout` to answer, so that
/// a task that fetches answers its driver within `timeout` still; a node
/// that was lost or did not answer is tried last for a while (5 s, then
/// twice as long each time it fails again, up to 80 s), so that a frozen
/// node costs a process one wait, not one per block. Throws `stream_error`
/// when every node that keeps it is lost, does not keep the block, or does
/// not answer.
block fetch_kept_block(caf::actor_system& sys, const block& b,
                       uint64_t chunk, duration timeout,
                       const node_reach& reach = {});

} // namespace caf_stream::actors
