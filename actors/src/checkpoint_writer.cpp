#include "caf_stream/actors/checkpoint_writer.hpp"

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/detail/log.hpp"

namespace caf_stream::actors {

namespace {

using write_atom = caf::atom_constant<caf::atom("cpwrite")>;

struct writer_state {
  std::string directory;
  size_t keep = 0;
  // Records that came in since the last write, less superseded ones.
  detail::pending_checkpoints pending;
  uint64_t failed = 0;
  std::shared_ptr<spdlog::logger> log = detail::logger("checkpoint");
  static inline const char* name = "caf_stream.checkpoint_writer";
};

using writer_actor = caf::stateful_actor<writer_state>;

// A failed checkpoint is logged, not fatal: the batch's results stand and
// the next checkpoint may succeed (a full disk, ...).
void write_pending(writer_actor* self) {
  auto& st = self->state;
  for (auto& x : st.pending.take()) {
    try {
      detail::write_checkpoint(st.directory, x, st.keep);
      st.log->debug("checkpoint of batch {} ms written{}", x.time_ms,
                    x.has_data() ? " with state" : "");
    } catch (const std::exception& e) {
      ++st.failed;
      st.log->error("checkpoint of batch {} ms failed: {}", x.time_ms,
                    e.what());
    }
  }
}

caf::behavior checkpoint_writer(writer_actor* self, std::string directory,
                                size_t keep) {
  self->state.directory = std::move(directory);
  self->state.keep = keep;
  return {
    // Writes when the records that came meanwhile are in: a writer that
    // falls behind the batches skips the records newer ones supersede.
    [=](detail::checkpoint_record& x) {
      auto& st = self->state;
      if (st.pending.empty())
        self->send(self, write_atom::value);
      st.pending.add(std::move(x));
    },
    [=](write_atom) { write_pending(self); },
    [=](drain_atom) {
      write_pending(self);
      return self->state.failed;
    },
  };
}

} // namespace

caf::actor spawn_checkpoint_writer(caf::actor_system& sys,
                                   std::string directory, size_t keep) {
  return sys.spawn<caf::detached>(checkpoint_writer, std::move(directory),
                                  keep);
}

} // namespace caf_stream::actors
