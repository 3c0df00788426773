#pragma once

#include <memory>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/config.hpp"

namespace caf_stream {

class state_operator;

} // namespace caf_stream

namespace caf_stream::actors {

/// State router of one state stream (`op`), detached: routes the stream's
/// calls to the holders of its partitions, spawning them on first use on
/// this node or, with worker nodes (`nodes`, the node directory, else
/// `opts.state_nodes`), partition `i` on node `i % n` of those at the time
/// (or the next one that takes it, asked for a holder of the state
/// stream of the graph with `graph_fingerprint` in the program
/// `program_id(opts)`), else on this node. With state nodes it keeps each
/// partition's calls since its state was last saved
/// (`state_partition_log`; past `opts.state_log_limit` records it asks the
/// holder for its state and keeps that instead): when a holder goes down or
/// does not answer within `opts.state_timeout`, a new one on its node, on
/// the next node that takes it, or on this node gets them again, then the
/// call that was lost. A partition this node took over moves back to a
/// state node when its state is next saved.
/// - `(state_atom, uint8_t state_call, time, block_list)` ->
///   `(block_list, int64_t, state_call_report)`: partition `i` gets
///   element `i`; the outputs come back in partition order with the keys
///   the partitions hold in all and the report, whose `failure` names the
///   first partition that failed (then the outputs are empty); an unknown
///   call is an `errc` error;
/// - quits on an exit message or when `driver` (the job scheduler) goes
///   down; its holders go with it.
caf::actor spawn_state_router(caf::actor_system& sys,
                              std::shared_ptr<const state_operator> op,
                              std::string graph_fingerprint,
                              stream_options opts, caf::actor driver,
                              caf::actor nodes = {});

} // namespace caf_stream::actors
