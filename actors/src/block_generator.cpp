#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/actors/messages.hpp"

namespace caf_stream::actors {

namespace {

struct block_generator_state {
  std::shared_ptr<detail::block_buffer_base> buf;
  caf::actor tracker;
  bool on_worker = false;

  // Seals the buffer. On a worker node the blocks leave the buffer's queue
  // as they leave for the driver: no batch on this node takes them.
  block_list seal() {
    auto blocks = buf->seal();
    if (on_worker)
      buf->release(blocks.size());
    return blocks;
  }

  static inline const char* name = "caf_stream.block_generator";
};

using seal_timer_atom = caf::atom_constant<caf::atom("sealtimer")>;

caf::behavior
block_generator(caf::stateful_actor<block_generator_state>* self,
                std::shared_ptr<detail::block_buffer_base> buf,
                caf::actor tracker, bool periodic, duration block_interval,
                bool on_worker) {
  self->state.buf = std::move(buf);
  self->state.tracker = std::move(tracker);
  self->state.on_worker = on_worker;
  auto interval = std::chrono::duration_cast<caf::timespan>(block_interval);
  if (periodic)
    self->delayed_send(self, interval, seal_timer_atom::value);
  return {
    [=](seal_timer_atom) {
      auto blocks = self->state.seal();
      if (!blocks.empty())
        self->send(self->state.tracker, blocks_atom::value, std::move(blocks));
      self->delayed_send(self, interval, seal_timer_atom::value);
    },
    [=](seal_atom) { return self->state.seal(); },
  };
}

} // namespace

caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval, bool on_worker) {
  return sys.spawn(block_generator, std::move(buf), std::move(tracker),
                   periodic, block_interval, on_worker);
}

} // namespace caf_stream::actors
