#include "caf_stream/scheduler/stage_placement.hpp"

namespace caf_stream {

void stage_placement::took(size_t stage, duration elapsed) {
  if (last_.size() <= stage)
    last_.resize(stage + 1, duration::max());
  last_[stage] = elapsed;
}

} // namespace caf_stream
