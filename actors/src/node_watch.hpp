#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"

namespace caf_stream {

class executor_table;

} // namespace caf_stream

namespace caf_stream::actors {

/// The worker nodes that the executor table lists, watched from when the
/// driver reached them, whether it sent them tasks or state partitions:
/// each node's actor records its exit (with the reason) as it goes down,
/// and `note_lost` tells the table. A down message waits in the mailbox
/// until a stage waits for answers, and a node that left has no stage to
/// wait for, so the job executor calls `note_lost` at each batch's end. A
/// node reached through another actor than the one watched (a new process
/// on its address, or the same one connected again) whose old actor went
/// down is lost first, then added again, as Spark lists a new executor
/// after a dead one. Used on the executor's thread only.
class node_watch {
public:
  node_watch(caf::actor_system& sys, executor_table& executors);

  /// Worker node `address` was reached through `node`, with `slots` task
  /// slots: added to the table unless it is there (then its slots are
  /// updated); nothing if `node` is the actor watched and it went down.
  void reached(const std::string& address, const caf::actor& node,
               size_t slots);

  /// Whether `node`, the actor of worker node `address`, went down: true
  /// too if another actor was reached there since.
  bool lost(const std::string& address, const caf::actor& node) const;

  /// Tells the table of the nodes whose actors went down since they were
  /// reached.
  void note_lost();

private:
  // Whether a node actor went down, and why: set where it exits, read on
  // the executor's thread.
  class loss {
  public:
    void set(const caf::error& reason);

    bool lost() const noexcept {
      return lost_;
    }

    // Why it went down, if it did.
    std::optional<caf::error> reason() const;

  private:
    std::atomic<bool> lost_{false};
    mutable std::mutex mtx_;
    caf::error reason_;
  };

  struct watched {
    caf::actor_addr node;
    std::shared_ptr<loss> down;
  };

  // Removes `address` from the table if its watched actor went down.
  void note_lost(const std::string& address, const watched& x);

  caf::actor_system& sys_;
  executor_table& executors_;
  // By address.
  std::map<std::string, watched> nodes_;
};

} // namespace caf_stream::actors
