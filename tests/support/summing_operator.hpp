#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf_stream/dstream/state_operator.hpp"

namespace support {

/// A state stream whose partition is a running sum, for the mailbox tests
/// of the state actors: an update adds the batch's records and gives the
/// new sum; a negative record fails it. A partition holds one key, its sum,
/// once a record came.
class summing_operator final
  : public caf_stream::basic_state_operator<int64_t, int64_t> {
public:
  using records = std::vector<int64_t>;

  std::string signature() const override {
    return "summing<int64_t>";
  }

protected:
  size_t keys(const int64_t& sum) const override {
    return sum != 0 ? 1 : 0;
  }

  caf_stream::block apply(int64_t& sum, caf_stream::state_call what,
                          caf_stream::time,
                          const caf_stream::block& in) const override {
    using caf_stream::state_call;
    if (what == state_call::update || what == state_call::load)
      for (auto x : *caf_stream::detail::block_records<int64_t>(in)) {
        if (x < 0)
          throw std::runtime_error("negative input");
        sum += x;
      }
    if (what == state_call::load)
      return caf_stream::block{};
    return caf_stream::detail::make_block(0, records{sum});
  }
};

} // namespace support
