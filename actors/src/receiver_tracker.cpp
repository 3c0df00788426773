#include <algorithm>
#include <functional>
#include <map>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"

#include "timer.hpp"

namespace caf_stream::actors {

namespace {

// A seal asked of a generator: its generator, its batch, and what to do
// with the blocks it answers (none if it went down first).
struct pending_seal {
  caf::actor_addr generator;
  time batch;
  std::function<void(block_list)> done;
};

struct tracker_state {
  std::vector<caf::actor> generators;
  // The seals not answered yet, by request number.
  std::map<uint64_t, pending_seal> sealing;
  uint64_t next_seal = 0;
  block_list unallocated;
  tracked_blocks recovered;
  // Bounds the seals of generators on other nodes (null: no bound).
  std::shared_ptr<caf_stream::clock> clk;
  duration seal_bound{0};
  std::shared_ptr<spdlog::logger> log = detail::logger("tracker");
  static inline const char* name = "caf_stream.receiver_tracker";
};

using tracker_actor = caf::stateful_actor<tracker_state>;

// Ends seal `id` with `blocks`, once: it was answered, its generator went
// down, or its bound passed. Blocks answered after that go to the next
// batch.
void end_seal(tracker_actor* self, uint64_t id, block_list blocks) {
  auto& st = self->state;
  auto& sealing = st.sealing;
  auto i = sealing.find(id);
  if (i == sealing.end()) {
    st.unallocated.insert(st.unallocated.end(),
                          std::make_move_iterator(blocks.begin()),
                          std::make_move_iterator(blocks.end()));
    return;
  }
  auto done = std::move(i->second.done);
  sealing.erase(i);
  done(std::move(blocks));
}

// Allocates every unallocated block to batch `t`, logged first.
void allocate(tracker_actor* self, time t,
              caf::typed_response_promise<block_list>& rp) {
  auto& st = self->state;
  auto blocks = std::exchange(st.unallocated, {});
  if (st.recovered.log) {
    try {
      st.recovered.log->allocate(t, blocks);
    } catch (const std::exception& e) {
      st.unallocated = std::move(blocks);
      std::string what = "batch " + to_string(t)
                         + " cannot log its blocks (they go to the next "
                           "batch): "
                         + e.what();
      st.log->error("{}", what);
      rp.deliver(caf::make_error(errc::source_failure, std::move(what)));
      return;
    }
  }
  rp.deliver(std::move(blocks));
}

caf::behavior receiver_tracker(tracker_actor* self, tracked_blocks init,
                               std::shared_ptr<caf_stream::clock> clk,
                               duration seal_bound) {
  auto& st = self->state;
  st.unallocated = std::move(init.unallocated);
  st.recovered = std::move(init);
  st.clk = std::move(clk);
  st.seal_bound = seal_bound;
  // A generator on a worker node that was lost seals nothing any more, and
  // the seals it did not answer end (CAF 0.17 drops a request whose
  // connection broke without an answer).
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    auto& gens = st.generators;
    gens.erase(std::remove_if(gens.begin(), gens.end(),
                              [&](const caf::actor& x) {
                                return x.address() == dm.source;
                              }),
               gens.end());
    std::vector<uint64_t> lost;
    for (auto& [id, seal] : st.sealing)
      if (seal.generator == dm.source)
        lost.push_back(id);
    for (auto id : lost)
      end_seal(self, id, {});
  });
  return {
    [=](register_atom, caf::actor generator) {
      self->monitor(generator);
      self->state.generators.push_back(std::move(generator));
    },
    [=](blocks_atom, block_list& blocks) {
      auto& xs = self->state.unallocated;
      xs.insert(xs.end(), std::make_move_iterator(blocks.begin()),
                std::make_move_iterator(blocks.end()));
    },
    [=](allocate_atom, time t) -> caf::result<block_list> {
      auto rp = self->make_response_promise<block_list>();
      // A batch that runs again gets what it had (Spark's tracker ignores
      // the allocation of a batch already allocated); new blocks wait.
      auto& again = self->state.recovered.batches;
      if (auto i = again.find(t); i != again.end()) {
        rp.deliver(std::move(i->second));
        again.erase(i);
        return rp;
      }
      auto& gens = self->state.generators;
      if (gens.empty()) {
        allocate(self, t, rp);
        return rp;
      }
      // Every record stored before the batch was cut belongs to it: seal all
      // buffers first. Blocks the generators sent on their own timers arrive
      // before their replies, so they are in `unallocated` by then.
      auto pending = std::make_shared<size_t>(gens.size());
      auto done = [=](block_list blocks) mutable {
        auto& xs = self->state.unallocated;
        xs.insert(xs.end(), std::make_move_iterator(blocks.begin()),
                  std::make_move_iterator(blocks.end()));
        if (--*pending == 0)
          allocate(self, t, rp);
      };
      auto& st = self->state;
      for (auto& g : gens) {
        auto id = st.next_seal++;
        st.sealing.emplace(id, pending_seal{g.address(), t, done});
        self->request(g, caf::infinite, seal_atom::value)
          .then(
            [=](block_list& blocks) { end_seal(self, id, std::move(blocks)); },
            [=](caf::error&) { end_seal(self, id, {}); });
        if (st.clk && g.node() != self->node())
          send_at(self, *st.clk, t + st.seal_bound, seal_late_atom::value, id);
      }
      return rp;
    },
    [=](seal_late_atom, uint64_t id) {
      auto& st = self->state;
      auto i = st.sealing.find(id);
      if (i == st.sealing.end())
        return;
      st.log->warn("a receiver's worker node did not seal its blocks for "
                   "batch {} within {}: the batch goes on, and they go to "
                   "the batch after its answer",
                   to_string(i->second.batch), to_string(st.seal_bound));
      end_seal(self, id, {});
    },
  };
}

} // namespace

caf::actor spawn_receiver_tracker(caf::actor_system& sys, tracked_blocks init,
                                  std::shared_ptr<caf_stream::clock> clk,
                                  duration seal_bound) {
  return sys.spawn(receiver_tracker, std::move(init), std::move(clk),
                   seal_bound);
}

} // namespace caf_stream::actors
