#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/actors.hpp"
#include "caf_stream/actors/messages.hpp"

namespace caf_stream::actors {

namespace {

struct tracker_state {
  std::vector<caf::actor> generators;
  block_list unallocated;
  static inline const char* name = "caf_stream.receiver_tracker";
};

caf::behavior receiver_tracker(caf::stateful_actor<tracker_state>* self) {
  return {
    [=](register_atom, caf::actor generator) {
      self->state.generators.push_back(std::move(generator));
    },
    [=](blocks_atom, block_list& blocks) {
      auto& xs = self->state.unallocated;
      xs.insert(xs.end(), std::make_move_iterator(blocks.begin()),
                std::make_move_iterator(blocks.end()));
    },
    [=](allocate_atom, time) -> caf::result<block_list> {
      auto rp = self->make_response_promise<block_list>();
      auto& gens = self->state.generators;
      if (gens.empty()) {
        rp.deliver(std::exchange(self->state.unallocated, {}));
        return rp;
      }
      // Every record stored before the batch was cut belongs to it: seal all
      // buffers first. Blocks the generators sent on their own timers arrive
      // before their replies, so they are in `unallocated` by then.
      auto pending = std::make_shared<size_t>(gens.size());
      auto done = [=]() mutable {
        if (--*pending == 0)
          rp.deliver(std::exchange(self->state.unallocated, {}));
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

caf::actor spawn_receiver_tracker(caf::actor_system& sys) {
  return sys.spawn(receiver_tracker);
}

} // namespace caf_stream::actors
