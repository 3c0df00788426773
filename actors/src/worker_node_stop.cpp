// The graceful stop of a worker node's actor (`stop_atom`): it hands its
// receivers' last blocks over, waits for the drivers to release the blocks
// kept here, then ends the actors it started.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actors/messages.hpp"

#include "worker_node_state.hpp"

namespace caf_stream::actors {

namespace {

// The blocks a receiver's last seal answered, with the records of those
// kept here: they leave with them, as the node goes, and their copies on
// other nodes are released.
void with_records(node_actor* self, block_list& blocks) {
  auto& store = self->state.blocks;
  std::vector<uint64_t> handed;
  std::map<caf::actor, std::vector<uint64_t>> copied;
  for (auto& b : blocks) {
    if (!b.holder)
      continue;
    if (b.replica)
      copied[b.replica->node].push_back(b.id);
    if (b.remote())
      if (const auto* kept = store.find(b.id))
        b = *kept;
    handed.push_back(b.id);
    b.id = 0;
    b.location.clear();
    b.holder = nullptr;
    b.replica_location.clear();
    b.replica = nullptr;
  }
  store.release(handed);
  for (auto& [node, ids] : copied)
    self->send(node, release_blocks_atom::value, std::move(ids));
}

} // namespace

// Calls `f` once the drivers released every block kept here, or after
// `hand_over_bound`: the batches that read them ran.
void await_release(node_actor* self, std::function<void()> f) {
  auto& st = self->state;
  if (st.blocks.size() == 0) {
    f();
    return;
  }
  st.log->info("waiting for the driver to release the {} blocks kept here",
               st.blocks.size());
  st.when_released = std::move(f);
  self->delayed_send(self, hand_over_bound, released_late_atom::value);
}

// Stops the receivers running here and hands the blocks they stored to
// their drivers' trackers, then calls `done` once their supervisors are
// down (a graceful stop: a record a receiver stored is not lost with the
// node, and no detached supervisor ends while the actor system goes down,
// which hangs CAF 0.17's shutdown: CAF issue 1196). Each step waits 5 s at
// most for a driver that is gone or hung.
void hand_over_receivers(node_actor* self, std::function<void()> all_done) {
  auto running = std::make_shared<size_t>(0);
  for (auto& [id, r] : self->state.receivers)
    if (r.running.supervisor)
      ++*running;
  if (*running == 0) {
    all_done();
    return;
  }
  auto bound = hand_over_bound;
  auto done = [=]() mutable {
    if (--*running == 0)
      all_done();
  };
  for (auto& [id, r] : self->state.receivers) {
    if (!r.running.supervisor)
      continue;
    auto stream = id;
    auto supervisor = r.running.supervisor;
    auto generator = r.running.generator;
    auto tracker = r.tracker;
    auto end = [=]() mutable {
      self->state.when_down.emplace(supervisor.address(), done);
      self->monitor(supervisor);
      self->send_exit(supervisor, caf::exit_reason::user_shutdown);
      self->send_exit(generator, caf::exit_reason::user_shutdown);
    };
    auto hand_over = [=]() mutable {
      self->request(generator, bound, seal_atom::value)
        .then(
          [=](block_list& blocks) mutable {
            with_records(self, blocks);
            auto n = blocks.size();
            self->request(tracker, bound, blocks_atom::value, std::move(blocks))
              .then(
                [=]() mutable {
                  self->state.log->info("receiver {} stopped; its last {} "
                                        "blocks went to the driver",
                                        stream, n);
                  end();
                },
                [=](caf::error& e) mutable {
                  self->state.log->warn("receiver {}: its last {} blocks "
                                        "did not reach the driver: {}",
                                        stream, n, self->system().render(e));
                  end();
                });
          },
          [=](caf::error&) mutable { end(); });
    };
    self
      ->request(supervisor, bound, stop_atom::value,
                std::string{"its worker node stops"})
      .then([=]() mutable { hand_over(); },
            [=](caf::error&) mutable { hand_over(); });
  }
}

// Ends the actors started here, then calls `done(true)` once they are all
// down, or `done(false)` if one is not after `hand_over_bound`: until they
// are, they may read the graph (a task host runs the stages it got before
// the stop), which the node's context releases as it goes.
void end_children(node_actor* self, std::function<void(bool)> done) {
  auto& st = self->state;
  if (st.children.empty()) {
    done(true);
    return;
  }
  st.when_children_down = std::move(done);
  for (auto& x : st.children)
    self->send_exit(x, caf::exit_reason::user_shutdown);
  self->delayed_send(self, hand_over_bound, children_late_atom::value);
}

} // namespace caf_stream::actors
