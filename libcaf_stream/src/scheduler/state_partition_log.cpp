#include "caf_stream/scheduler/state_partition_log.hpp"

namespace caf_stream {

bool state_partition_log::record(state_call what, time t, const block& input,
                                 const block& output, bool answered,
                                 bool holder_gone) {
  if (lost_)
    return false;
  switch (what) {
    case state_call::save:
      if (answered) {
        entries_.clear();
        records_ = 0;
        add(state_call::load, t, output);
      }
      break;
    case state_call::load:
    case state_call::update:
      if (!entries_.empty() && entries_.back().call == what
          && entries_.back().batch == t)
        break;
      if (answered || holder_gone)
        add(what, t, input);
      break;
    case state_call::snapshot:
      break;
  }
  if (!holder_gone || records_ <= limit_)
    return true;
  entries_.clear();
  records_ = 0;
  lost_ = true;
  return false;
}

void state_partition_log::add(state_call what, time t, const block& x) {
  entries_.push_back(entry{what, t, x});
  records_ += static_cast<size_t>(x.records);
}

} // namespace caf_stream
