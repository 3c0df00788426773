#include "block_fetch.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/scheduler/node_exclusion.hpp"

namespace caf_stream::actors {

namespace {

// The nodes of this process's fetches that did not answer one lately: a
// frozen node that keeps many blocks of a batch would cost a wait for each.
// A node is passed over for 5 s after it did not answer, then for twice as
// long each time it fails again, up to 80 s.
class slow_nodes {
public:
  static slow_nodes& instance() {
    static slow_nodes x;
    return x;
  }

  bool slow(const std::string& node) {
    std::lock_guard<std::mutex> guard{mtx_};
    return excluded_.excluded(node, node_exclusion::clock::now());
  }

  void failed(const std::string& node) {
    std::lock_guard<std::mutex> guard{mtx_};
    excluded_.failed(node, node_exclusion::clock::now());
  }

  void answered(const std::string& node) {
    std::lock_guard<std::mutex> guard{mtx_};
    excluded_.succeeded(node);
  }

private:
  std::mutex mtx_;
  node_exclusion excluded_{std::chrono::seconds(5), std::chrono::seconds(80)};
};

// The records of `b` from `node`, which keeps them (see
// `fetch_kept_block`), waiting `bound` at most for each answer (`what`
// says what the bound is); sets `failure` to why not if it cannot, and
// `silent` if the node was lost or did not answer.
block fetch_from(caf::actor_system& sys, const block& b,
                 const caf::actor& node, uint64_t chunk, duration bound,
                 const std::string& what, std::string& failure,
                 bool& silent) {
  caf::scoped_actor self{sys};
  self->monitor(node);
  auto local = node.node() == sys.node();
  if (local)
    self->send(node, get_block_atom::value, b.id);
  else
    self->send(node, fetch_block_atom::value, b.id, uint64_t{0}, chunk);
  block result;
  std::string bytes;
  bool done = false;
  auto stop = [&](std::string why) {
    failure = std::move(why);
    done = true;
  };
  auto wait = std::chrono::duration_cast<caf::timespan>(bound);
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
        silent = true;
        stop("the node was lost (" + sys.render(dm.reason) + ")");
      },
      caf::after(wait) >> [&] {
        silent = true;
        stop("no answer within " + what);
      });
  }
  if (!failure.empty() || local)
    return result;
  result.stream_id = b.stream_id;
  result.records = b.records;
  result.lines = b.lines;
  result.bytes = std::move(bytes);
  return result;
}

} // namespace

block fetch_kept_block(caf::actor_system& sys, const block& b, uint64_t chunk,
                       duration timeout, const node_reach& reach) {
  // The nodes that keep the records: this process's first, if it is one.
  struct source {
    caf::actor node;
    const std::string* location;
  };
  std::vector<source> sources;
  if (b.holder && b.holder->node)
    sources.push_back({b.holder->node, &b.location});
  if (b.replica && b.replica->node)
    sources.push_back({b.replica->node, &b.replica_location});
  // Then a node that did not answer lately last.
  auto& slow = slow_nodes::instance();
  std::stable_partition(sources.begin(), sources.end(), [&](const source& x) {
    return !slow.slow(*x.location);
  });
  std::stable_partition(sources.begin(), sources.end(), [&](const source& x) {
    return x.node.node() == sys.node();
  });
  auto what = "block " + std::to_string(b.id) + " of receiver stream "
              + std::to_string(b.stream_id) + " ("
              + std::to_string(b.records) + " records)";
  auto where = b.replica ? "the worker nodes " + b.location + " and "
                             + b.replica_location + " keep"
                         : "the worker node " + b.location + " keeps";
  if (sources.empty())
    throw stream_error(errc::source_failure,
                       "cannot fetch " + what + ", which " + where
                         + ": the block names no node actor");
  // Why each node failed, named once there are two.
  std::string why;
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto& x = sources[i];
    // With a copy to try next, half of the timeout: the fetching task then
    // answers its driver within `stream.state-timeout` still.
    auto last = i + 1 == sources.size();
    auto bound = last ? timeout : timeout / 2;
    auto within = "stream.state-timeout (" + to_string(timeout) + ")";
    if (!last)
      within = to_string(bound) + " (half of " + within
               + ": a copy is on another node)";
    auto node = x.node;
    if (reach)
      if (auto direct = reach(*x.location, x.node))
        node = std::move(direct);
    std::string failure;
    bool silent = false;
    auto result = fetch_from(sys, b, node, chunk, bound, within, failure,
                             silent);
    if (failure.empty()) {
      slow.answered(*x.location);
      detail::logger("receiver")
        ->debug("fetched {} from the worker node {}", what, *x.location);
      return result;
    }
    if (silent)
      slow.failed(*x.location);
    if (!why.empty())
      why += "; ";
    if (sources.size() > 1)
      why += "from " + *x.location + ": ";
    why += failure;
    if (i + 1 < sources.size())
      detail::logger("receiver")
        ->warn("cannot fetch {} from the worker node {}: {}; trying {}", what,
               *x.location, failure, *sources[i + 1].location);
  }
  throw stream_error(errc::source_failure,
                     "cannot fetch " + what + ", which " + where + ": " + why);
}

} // namespace caf_stream::actors
