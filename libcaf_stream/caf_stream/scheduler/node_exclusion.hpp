#pragma once

#include <chrono>
#include <map>
#include <string>

namespace caf_stream {

/// Which worker nodes get no map tasks for a while after they failed (a
/// small part of Spark's HealthTracker, `spark.excludeOnFailure.*`). A node
/// that fails is excluded for `first`; a node that fails again before it
/// ran tasks in between (a frozen or unreachable node, tried again once its
/// exclusion ended) for twice as long as the last time, up to `longest`;
/// a failure while it is excluded (another of its stages, sent before it
/// failed) changes nothing. A node that ran tasks starts over at `first`.
/// The caller passes the time, so that tests need no clock.
class node_exclusion {
public:
  using clock = std::chrono::steady_clock;

  node_exclusion(clock::duration first, clock::duration longest)
    : first_(first), longest_(longest) {
    // nop
  }

  /// Whether `node` gets no tasks at `now`.
  bool excluded(const std::string& node, clock::time_point now) const;

  /// Whether `node` failed and did not run tasks since.
  bool failed_lately(const std::string& node) const {
    return nodes_.count(node) != 0;
  }

  /// `node` failed at `now`; returns for how long it is excluded (from
  /// `now`, or from its failure before if it is still excluded).
  clock::duration failed(const std::string& node, clock::time_point now);

  /// `node` ran tasks.
  void succeeded(const std::string& node);

private:
  struct entry {
    clock::time_point until;
    clock::duration last;
  };

  clock::duration first_;
  clock::duration longest_;
  std::map<std::string, entry> nodes_;
};

} // namespace caf_stream
