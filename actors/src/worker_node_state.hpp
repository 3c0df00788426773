#pragma once

// A worker node's actor (`worker_node.cpp`): its state, and the steps of
// its graceful stop (`worker_node_stop.cpp`).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/atom.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/receiver_placer.hpp"
#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/receiver/block_store.hpp"

namespace caf_stream::detail {

class dstream_graph;

} // namespace caf_stream::detail

namespace caf_stream {

class receiver_base;

} // namespace caf_stream

namespace caf_stream::actors {

using released_late_atom = caf::atom_constant<caf::atom("rellate")>;
using children_late_atom = caf::atom_constant<caf::atom("chldlate")>;

// How long a graceful stop waits for its driver to release the blocks kept
// here (their batches read them), and for each step of handing over its
// receivers' last blocks.
inline constexpr auto hand_over_bound = std::chrono::seconds(5);

// A receiver of this node's graph, and the actors that run it for a driver.
struct served_receiver {
  std::shared_ptr<receiver_base> rcv;
  receiver_actors running;
  caf::actor tracker;
  // A supervisor told to stop and not down yet: it still runs `rcv`
  // (its `on_stop` may wait for the receiver's thread), so no other starts
  // it meanwhile.
  caf::actor_addr stopping;
};

// The state of a worker node's actor (`spawn_state_node`).
struct node_state {
  std::shared_ptr<detail::dstream_graph> graph;
  std::string fingerprint;
  std::string program;
  std::shared_ptr<clock> clk;
  stream_options opts;
  // The actors started here (the holders, the task host, the receivers'
  // supervisors and generators), until they go down.
  std::set<caf::actor> children;
  // The receivers started here, by stream id.
  std::map<int32_t, served_receiver> receivers;
  // What to do when a receiver's supervisor that a stop ended is down.
  std::map<caf::actor_addr, std::function<void()>> when_down;
  // Runs the map tasks drivers send, spawned for the first.
  caf::actor task_host;
  // The stages handed to `task_host` through this actor (the last 64), by
  // driver and id: they fail if it goes down, since a driver that does not
  // know the host yet cannot watch it.
  std::deque<std::pair<caf::actor, uint64_t>> handed;
  // The blocks the receivers here sealed, and the copies of other nodes'
  // blocks, until their driver released them.
  block_store blocks;
  // The drivers whose blocks (a receiver's here, or the copies of another
  // node's) are kept here, by their tracker, with the number the blocks
  // are kept for (`block_store::put`): they go when it does, even after the
  // driver stopped the receiver, and a driver that took the same receiver
  // stream over keeps its own.
  std::map<caf::actor_addr, uint64_t> kept_for;
  // The drivers blocks were kept for so far, which numbers the next.
  uint64_t drivers_kept_for = 0;
  // What a graceful stop does once the driver released every block kept
  // here (or 5 s passed).
  std::function<void()> when_released;
  // What a graceful stop does once every actor in `children` is down
  // (`true`), or once it gave up on them (`false`).
  std::function<void(bool)> when_children_down;
  // Set by a graceful stop: the node takes no more work.
  bool stopping = false;
  std::shared_ptr<spdlog::logger> log = detail::logger("node");
  static inline const char* name = "caf_stream.state_node";

  // The actors started here go down with the node, but not the other way
  // round: holders and receivers end with their driver. Here, since CAF
  // 0.17 destroys an actor's state before its attached functors run.
  ~node_state() {
    for (auto& x : children)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
};

using node_actor = caf::stateful_actor<node_state>;

// Stops the receivers running here and hands the blocks they stored to
// their drivers' trackers, then calls `all_done` once their supervisors are
// down (the first step of a graceful stop).
void hand_over_receivers(node_actor* self, std::function<void()> all_done);

// Calls `f` once the drivers released every block kept here, or after
// `hand_over_bound` (the second step).
void await_release(node_actor* self, std::function<void()> f);

// Ends the actors started here, then calls `done(true)` once they are all
// down, or `done(false)` if one is not after `hand_over_bound` (the last
// step).
void end_children(node_actor* self, std::function<void(bool)> done);

} // namespace caf_stream::actors
