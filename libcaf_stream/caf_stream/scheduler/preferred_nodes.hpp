#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace caf_stream {

/// The worker nodes a task prefers, as indexes into `addresses` (the
/// nodes' "host:port"), in the order of `locations` (its input's preferred
/// locations, the best first; `rdd_node_base::locations`): a location that
/// is a node's address names that node; one that is a host (Spark's
/// preferred locations name executors' hosts, as `kafka::prefer_fixed` and
/// `kafka::prefer_brokers` do) names every node on it, in address order.
/// Each node appears once; a location that names no node adds none.
std::vector<size_t> preferred_nodes(const std::vector<std::string>& addresses,
                                    const std::vector<std::string>& locations);

} // namespace caf_stream
