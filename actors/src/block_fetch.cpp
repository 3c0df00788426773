#include "block_fetch.hpp"

#include <string>
#include <utility>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::actors {

block fetch_kept_block(caf::actor_system& sys, const block& b, uint64_t chunk,
                       duration timeout) {
  auto what = [&] {
    return "block " + std::to_string(b.id) + " of receiver stream "
           + std::to_string(b.stream_id) + " (" + std::to_string(b.records)
           + " records), which the worker node " + b.location + " keeps";
  };
  auto fail = [&](const std::string& why) {
    throw stream_error(errc::source_failure,
                       "cannot fetch " + what() + ": " + why);
  };
  auto node = b.holder ? b.holder->node : caf::actor{};
  if (!node)
    fail("the block names no node actor");
  caf::scoped_actor self{sys};
  self->monitor(node);
  auto local = node.node() == sys.node();
  if (local)
    self->send(node, get_block_atom::value, b.id);
  else
    self->send(node, fetch_block_atom::value, b.id, uint64_t{0}, chunk);
  block result;
  std::string bytes;
  // Why the fetch failed; thrown once the receive returned.
  std::string failure;
  bool done = false;
  auto stop = [&](std::string why) {
    failure = std::move(why);
    done = true;
  };
  auto bound = std::chrono::duration_cast<caf::timespan>(timeout);
  while (!done) {
    self->receive(
      [&](get_block_atom, uint64_t, block& x) {
        result = std::move(x);
        done = true;
      },
      [&](block_chunk_atom, uint64_t, uint64_t offset, uint64_t total,
          std::string& piece) {
        if (offset != bytes.size() || offset + piece.size() > total
            || (piece.empty() && offset < total)) {
          stop("the node sent " + std::to_string(piece.size())
               + " bytes at " + std::to_string(offset) + " of "
               + std::to_string(total) + ", " + std::to_string(bytes.size())
               + " were here");
          return;
        }
        bytes += piece;
        if (bytes.size() == total)
          done = true;
        else
          self->send(node, fetch_block_atom::value, b.id,
                     static_cast<uint64_t>(bytes.size()), chunk);
      },
      [&](no_block_atom, uint64_t, std::string& why) { stop(std::move(why)); },
      [&](caf::down_msg& dm) {
        stop("the node was lost (" + sys.render(dm.reason) + ")");
      },
      caf::after(bound) >> [&] {
        stop("no answer within stream.state-timeout (" + to_string(timeout)
             + ")");
      });
  }
  if (!failure.empty())
    fail(failure);
  if (local)
    return result;
  result.stream_id = b.stream_id;
  result.records = b.records;
  result.lines = b.lines;
  result.bytes = std::move(bytes);
  return result;
}

} // namespace caf_stream::actors
