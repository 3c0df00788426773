#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/block_store.hpp"

namespace caf_stream::actors {

void keep_on_node(const kept_blocks& keep, std::vector<block>& blocks) {
  for (auto& b : blocks) {
    b.id = block_store::next_id();
    b.location = keep.location;
    b.holder = keep.holder;
  }
  caf::anon_send(keep.node, put_blocks_atom::value, keep.tracker, blocks);
  // The replicator takes the records out once it copied them.
  if (keep.copy_to_driver || keep.replicator)
    return;
  for (auto& b : blocks) {
    b.data.reset();
    b.bytes.clear();
  }
}

namespace {

// The sink of `make_tracker_sink`.
class tracker_sink final : public detail::whole_block_sink {
public:
  tracker_sink(caf::actor_system& sys, caf::actor tracker, duration timeout,
               std::optional<kept_blocks> keep)
    : sys_(sys),
      tracker_(std::move(tracker)),
      timeout_(timeout),
      keep_(std::move(keep)) {
    // nop
  }

  void deliver(block b) override {
    block_list xs;
    xs.push_back(std::move(b));
    caf::scoped_actor self{sys_};
    if (keep_) {
      keep_on_node(*keep_, xs);
      // The replicator answers with the records if it could not copy them.
      if (keep_->replicator)
        self
          ->request(keep_->replicator, caf::infinite, replicate_atom::value,
                    xs)
          .receive([&](block_list& copied) { xs = std::move(copied); },
                   [](caf::error&) {});
    }
    caf::error failure;
    self->request(tracker_, timeout_, blocks_atom::value, std::move(xs))
      .receive([] {}, [&](caf::error& e) { failure = std::move(e); });
    if (failure)
      throw stream_error(errc::source_failure,
                         "the driver did not take the stored block: "
                           + sys_.render(failure));
  }

private:
  caf::actor_system& sys_;
  caf::actor tracker_;
  duration timeout_;
  std::optional<kept_blocks> keep_;
};

struct block_generator_state {
  std::shared_ptr<detail::block_buffer_base> buf;
  caf::actor tracker;
  std::optional<kept_blocks> keep;
  // Sealed blocks that wait for their copy, in the receiver's queue.
  size_t held = 0;

  // A generator that goes down leaves no block in the queue: its replicator
  // goes down with it, and no answer comes.
  ~block_generator_state() {
    if (buf)
      buf->release(held);
  }

  // Counts `n` sealed blocks in the receiver's queue until `release(n)`.
  void hold(size_t n) {
    held += n;
    buf->hold(n);
  }

  void release(size_t n) {
    held -= n;
    buf->release(n);
  }

  // Seals the buffer, and keeps the blocks on this node with `keep`.
  block_list seal() {
    auto blocks = buf->seal();
    if (keep && !blocks.empty())
      keep_on_node(*keep, blocks);
    return blocks;
  }

  bool replicates() const noexcept {
    return keep && keep->replicator;
  }

  static inline const char* name = "caf_stream.block_generator";
};

using seal_timer_atom = caf::atom_constant<caf::atom("sealtimer")>;

caf::behavior
block_generator(caf::stateful_actor<block_generator_state>* self,
                std::shared_ptr<detail::block_buffer_base> buf,
                caf::actor tracker, bool periodic, duration block_interval,
                std::optional<kept_blocks> keep) {
  auto& st = self->state;
  st.buf = std::move(buf);
  st.tracker = std::move(tracker);
  st.keep = std::move(keep);
  // The replicator goes down with this actor.
  if (st.replicates())
    self->link_to(st.keep->replicator);
  auto interval = std::chrono::duration_cast<caf::timespan>(block_interval);
  if (periodic)
    self->delayed_send(self, interval, seal_timer_atom::value);
  return {
    [=](seal_timer_atom) {
      auto& st = self->state;
      self->delayed_send(self, interval, seal_timer_atom::value);
      auto blocks = st.seal();
      if (blocks.empty())
        return;
      if (!st.replicates()) {
        self->send(st.tracker, blocks_atom::value, std::move(blocks));
        return;
      }
      // The tracker learns of the blocks once their copy is on a second
      // node; the replicator answers in the order it was asked. Without
      // it, the driver keeps the copy. Meanwhile they count in the
      // receiver's queue: a slow copy holds the receiver, not memory.
      auto n = blocks.size();
      st.hold(n);
      self->request(st.keep->replicator, caf::infinite, replicate_atom::value,
                    blocks)
        .then(
          [=](block_list& xs) {
            self->state.release(n);
            self->send(self->state.tracker, blocks_atom::value, std::move(xs));
          },
          [=](caf::error&) {
            self->state.release(n);
            self->send(self->state.tracker, blocks_atom::value, blocks);
          });
    },
    [=](seal_atom) -> caf::result<block_list> {
      auto& st = self->state;
      auto blocks = st.seal();
      if (blocks.empty() || !st.replicates())
        return blocks;
      // The replicator answers the caller.
      auto rp = self->make_response_promise();
      rp.delegate(st.keep->replicator, replicate_atom::value,
                  std::move(blocks));
      return rp;
    },
  };
}

} // namespace

std::shared_ptr<detail::whole_block_sink>
make_tracker_sink(caf::actor_system& sys, caf::actor tracker,
                  duration timeout, std::optional<kept_blocks> keep) {
  return std::make_shared<tracker_sink>(sys, std::move(tracker), timeout,
                                        std::move(keep));
}

caf::actor spawn_block_generator(caf::actor_system& sys,
                                 std::shared_ptr<detail::block_buffer_base> buf,
                                 caf::actor tracker, bool periodic,
                                 duration block_interval,
                                 std::optional<kept_blocks> keep) {
  return sys.spawn(block_generator, std::move(buf), std::move(tracker),
                   periodic, block_interval, std::move(keep));
}

} // namespace caf_stream::actors
