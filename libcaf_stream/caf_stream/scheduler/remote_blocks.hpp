#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

/// The blocks of the driver's batches that worker nodes keep, until the
/// driver lets them go (the block cleanup of Spark's ReceivedBlockTracker):
/// a batch's blocks go once it ran and no window reaches back to it.
class remote_blocks {
public:
  /// The blocks one node is to forget.
  struct release {
    /// Who keeps them on that node.
    std::shared_ptr<const block_holder> holder;
    /// The node, as the driver names it.
    std::string location;
    std::vector<uint64_t> ids;
  };

  /// Batch `t` reads `blocks`: notes those worker nodes keep (a block with
  /// a copy on a second node, on both).
  void add(time t, const std::map<int32_t, std::vector<block>>& blocks);

  /// The blocks of the batches up to `t`, by node, forgotten here.
  std::vector<release> take_until(time t);

  /// The number of blocks noted and not taken.
  size_t size() const noexcept;

private:
  // By batch, then by node.
  std::map<time, std::map<std::string, release>> kept_;
};

} // namespace caf_stream
