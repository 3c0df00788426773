#include "block_replicator.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/scheduler/node_exclusion.hpp"

#include "deadline.hpp"

namespace caf_stream::actors {

namespace {

// How long a peer that did not answer gets no copies, at first and at most.
constexpr auto first_rest = std::chrono::seconds(5);
constexpr auto longest_rest = std::chrono::seconds(80);

// How long a peer asked to connect back may take: its own connecting, and
// the way there and back through the driver.
constexpr duration connect_back_bound = 2 * node_connect_bound;

class block_replicator final : public caf::blocking_actor {
public:
  block_replicator(caf::actor_config& cfg, int32_t stream_id,
                   std::string address, std::vector<block_peer> peers,
                   caf::actor tracker, duration timeout,
                   std::string fingerprint, std::string program)
    : caf::blocking_actor(cfg),
      stream_id_(stream_id),
      address_(std::move(address)),
      tracker_(std::move(tracker)),
      timeout_(timeout),
      fingerprint_(std::move(fingerprint)),
      program_(std::move(program)),
      excluded_(first_rest, longest_rest),
      log_(detail::logger("receiver")) {
    for (auto& x : peers) {
      auto holder = std::make_shared<const block_holder>(block_holder{x.node});
      peers_.push_back(peer{std::move(x), std::move(holder), false});
    }
  }

  void act() override {
    for (auto& p : peers_) {
      reach(p);
      monitor(p.to.node);
    }
    bool running = true;
    receive_while(running)(
      [&](replicate_atom, block_list& xs) {
        copy(xs);
        return std::move(xs);
      },
      [&](caf::down_msg& dm) { lost(dm.source); },
      // An answer to a copy given up on (or its refusal), and a wait's
      // wake-up, that came after the wait.
      [&](copy_blocks_atom, uint64_t) {},
      [&](caf::error&) {},
      [&](deadline_atom, uint64_t) {},
      [&](caf::exit_msg&) { running = false; });
  }

  const char* name() const override {
    return "caf_stream.block_replicator";
  }

private:
  struct peer {
    block_peer to;
    std::shared_ptr<const block_holder> holder;
    bool lost;
  };

  // Connects this node and `p`. CAF 0.17 routes a message to a node this
  // one is not connected to through the node it learned the handle from
  // (the driver), and keeps that route after the driver is gone: a second
  // driver's copies would go nowhere. Of two nodes, the one
  // whose address sorts first connects, as task hosts do (CAF 0.17 breaks
  // both connections of two nodes that connect to each other at once); so
  // this node either connects to `p` or asks `p` to connect back, through
  // the driver once. If neither works, the copies go through the driver.
  void reach(peer& p) {
    std::string why;
    if (address_ < p.to.address) {
      auto bound = std::min(timeout_, node_connect_bound);
      if (auto node = connect_node(this, p.to.address, "worker node", bound)) {
        p.to.node = std::move(*node);
        p.holder = std::make_shared<const block_holder>(
          block_holder{p.to.node});
        log_->info("receiver {}: its blocks' copies go to the worker node "
                   "{}, connected from here",
                   stream_id_, p.to.address);
        return;
      } else {
        why = message_of(node.error());
      }
    } else {
      auto bound = std::min(timeout_, connect_back_bound);
      request(p.to.node, bound, connect_back_atom::value, address_)
        .receive([](connect_back_atom) {},
                 [&](caf::error& e) {
                   why = "the worker node " + p.to.address
                         + " did not connect to this one: "
                         + (e == caf::sec::request_timeout
                              ? "no answer within " + to_string(bound)
                              : system().render(e));
                 });
      if (why.empty()) {
        log_->info("receiver {}: its blocks' copies go to the worker node "
                   "{}, which connected to this one",
                   stream_id_, p.to.address);
        return;
      }
    }
    log_->warn("receiver {}: {}; its blocks' copies go there through the "
               "driver",
               stream_id_, why);
  }

  // Copies `xs` to the first peer that takes them; on success, names it in
  // each block and takes their records out.
  void copy(block_list& xs) {
    if (xs.empty())
      return;
    for (auto& p : peers_) {
      auto now = node_exclusion::clock::now();
      if (p.lost || excluded_.excluded(p.to.address, now))
        continue;
      auto why = copy_to(p, xs);
      if (why.empty()) {
        excluded_.succeeded(p.to.address);
        for (auto& b : xs) {
          b.replica_location = p.to.address;
          b.replica = p.holder;
          b.data.reset();
          b.bytes.clear();
        }
        if (std::exchange(to_driver_, false))
          log_->info("receiver {}: the copies of its blocks go to the "
                     "worker node {} again",
                     stream_id_, p.to.address);
        return;
      }
      std::string rest = "it gets no more";
      if (!p.lost) {
        auto x = excluded_.failed(p.to.address, node_exclusion::clock::now());
        rest = "it gets none for "
               + std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(x).count())
               + " s";
      }
      log_->warn("receiver {}: the worker node {} did not take a copy of {} "
                 "blocks ({}): {}",
                 stream_id_, p.to.address, xs.size(), rest, why);
    }
    if (!std::exchange(to_driver_, true))
      log_->warn("receiver {}: no other worker node takes the copies of its "
                 "blocks: the driver keeps them",
                 stream_id_);
  }

  // Sends `xs` to `p` and waits for its answer; returns why it did not
  // take them (empty if it did). The records are encoded here, not on the
  // middleman's thread, which carries all of this node's messages.
  std::string copy_to(peer& p, const block_list& xs) {
    auto last = xs.back().id;
    block_list wire;
    try {
      wire = encoded(xs);
    } catch (const std::exception& e) {
      return e.what();
    }
    send(p.to.node, copy_blocks_atom::value, fingerprint_, program_,
         tracker_, std::move(wire));
    std::string failure;
    bool done = false;
    // The wait ends `timeout_` after the send, whatever else comes
    // (`deadline`: a late answer to an earlier copy would start CAF's
    // `after` anew).
    auto sent = deadline::clock::now();
    while (!done && failure.empty()) {
      auto now = deadline::clock::now();
      auto wait = deadline::left(sent, now, timeout_);
      if (auto wake_up = deadline_.arm(now, wait))
        delayed_send(this, wait, deadline_atom::value, *wake_up);
      receive(
        // An answer to an earlier copy that timed out may come first.
        [&](copy_blocks_atom, uint64_t id) { done = id == last; },
        // It refuses them (another program), unless an earlier peer's
        // refusal came late.
        [&](caf::error& e) {
          if (caf::actor_cast<caf::actor_addr>(current_sender())
              == p.to.node.address())
            failure = is_stream_error(e) ? message_of(e) : system().render(e);
        },
        [&](caf::down_msg& dm) {
          lost(dm.source);
          if (p.lost)
            failure = "the node was lost (" + system().render(dm.reason)
                      + ")";
        },
        [&](deadline_atom, uint64_t wake_up) {
          if (deadline_.passed(wake_up, deadline::clock::now()))
            failure = "no answer within stream.state-timeout ("
                      + to_string(timeout_) + ")";
        });
    }
    return failure;
  }

  // `xs` with their records as bytes.
  static block_list encoded(const block_list& xs) {
    block_list result;
    result.reserve(xs.size());
    for (const auto& b : xs) {
      auto& x = result.emplace_back(b);
      x.bytes = b.to_bytes();
      x.data.reset();
    }
    return result;
  }

  void lost(const caf::actor_addr& who) {
    for (auto& p : peers_)
      if (p.to.node.address() == who)
        p.lost = true;
  }

  int32_t stream_id_;
  // This node, as the driver names it.
  std::string address_;
  std::vector<peer> peers_;
  caf::actor tracker_;
  duration timeout_;
  // What names this node's program and graph to the peers.
  std::string fingerprint_;
  std::string program_;
  // When a copy's wait for its answer ends.
  deadline deadline_;
  node_exclusion excluded_;
  // Whether the last blocks' copies went to the driver.
  bool to_driver_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::actor spawn_block_replicator(caf::actor_system& sys, int32_t stream_id,
                                  std::string address,
                                  std::vector<block_peer> peers,
                                  caf::actor tracker, duration timeout,
                                  std::string fingerprint,
                                  std::string program) {
  return sys.spawn<block_replicator, caf::detached>(
    stream_id, std::move(address), std::move(peers), std::move(tracker),
    timeout, std::move(fingerprint), std::move(program));
}

} // namespace caf_stream::actors
