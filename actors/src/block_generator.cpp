#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/receiver/block_store.hpp"

namespace caf_stream::actors {

namespace {

struct block_generator_state {
  std::shared_ptr<detail::block_buffer_base> buf;
  caf::actor tracker;
  bool on_worker = false;
  std::optional<kept_blocks> keep;
  std::shared_ptr<const block_holder> holder;

  // Seals the buffer. On a worker node the blocks leave the buffer's queue
  // as they leave for the driver: no batch on this node takes them.
  block_list seal(caf::event_based_actor* self) {
    auto blocks = buf->seal();
    if (on_worker)
      buf->release(blocks.size());
    if (keep && !blocks.empty())
      keep_here(self, blocks);
    return blocks;
  }

  // Hands `blocks` to the node that keeps them, and leaves the tracker
  // their numbers and counts (and their records, for a second copy).
  void keep_here(caf::event_based_actor* self, block_list& blocks) {
    if (!holder)
      holder = std::make_shared<const block_holder>(block_holder{keep->node});
    for (auto& b : blocks) {
      b.id = block_store::next_id();
      b.location = keep->location;
      b.holder = holder;
    }
    self->send(keep->node, put_blocks_atom::value, blocks);
    if (keep->copy_to_driver)
      return;
    for (auto& b : blocks) {
      b.data.reset();
      b.bytes.clear();
    }
  }

  static inline const char* name = "caf_stream.block_generator";
};

using seal_timer_atom = caf::atom_constant<caf::atom("sealtimer")>;

caf::behavior
block_generator(caf::stateful_actor<block_generator_state>* self,
                std::shared_ptr<detail::block_buffer_base> buf,
                caf::actor tracker, bool periodic, duration block_interval,
                bool on_worker, std::optional<kept_blocks> keep) {
  self->state.buf = std::move(buf);
  self->state.tracker = std::move(tracker);
  self->state.on_worker = on_worker;
  self->state.keep = std::move(keep);
  auto interval = std::chrono::duration_cast<caf::timespan>(block_interval);
  if (periodic)
    self->delayed_send(self, interval, seal_timer_atom::value);
  return {
    [=](seal_timer_atom) {
      auto blocks = self->state.seal(self);
      if (!blocks.empty())
        self->send(self->state.tracker, blocks_atom::value, std::move(blocks));
      self->delayed_send(self, interval, seal_timer_atom::value);
    },
    [=](seal_atom) { return self->state.seal(self); },
  };
}

} // namespace

caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval, bool on_worker,
                                 std::optional<kept_blocks> keep) {
  return sys.spawn(block_generator, std::move(buf), std::move(tracker),
                   periodic, block_interval, on_worker, std::move(keep));
}

} // namespace caf_stream::actors
