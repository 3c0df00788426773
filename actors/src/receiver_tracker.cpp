#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

struct tracker_state {
  std::vector<caf::actor> generators;
  block_list unallocated;
  tracked_blocks recovered;
  std::shared_ptr<spdlog::logger> log = detail::logger("tracker");
  static inline const char* name = "caf_stream.receiver_tracker";
};

using tracker_actor = caf::stateful_actor<tracker_state>;

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

caf::behavior receiver_tracker(tracker_actor* self, tracked_blocks init) {
  auto& st = self->state;
  st.unallocated = std::move(init.unallocated);
  st.recovered = std::move(init);
  return {
    [=](register_atom, caf::actor generator) {
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
      auto done = [=]() mutable {
        if (--*pending == 0)
          allocate(self, t, rp);
      };
      for (auto& g : gens)
        self->request(g, caf::infinite, seal_atom::value)
          .then(
            [=](block_list& blocks) mutable {
              auto& xs = self->state.unallocated;
              xs.insert(xs.end(), std::make_move_iterator(blocks.begin()),
                        std::make_move_iterator(blocks.end()));
              done();
            },
            [=](caf::error&) mutable { done(); });
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_receiver_tracker(caf::actor_system& sys, tracked_blocks init) {
  return sys.spawn(receiver_tracker, std::move(init));
}

} // namespace caf_stream::actors
