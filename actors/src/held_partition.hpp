#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "caf/expected.hpp"

#include "caf_stream/receiver/block.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream {

class state_operator;

} // namespace caf_stream

namespace caf_stream::actors {

/// One partition of a state stream's state, as its state holder keeps it:
/// runs the operator's calls on it and remembers the last batch it applied
/// and what that gave. A batch comes again when it failed and another job
/// of it needs the stream: it gets the same answer (output or failure)
/// without changing the state twice, since a function that threw may have
/// applied some records before.
class held_partition {
public:
  /// A call's output and the keys the partition holds after it.
  struct answer {
    block output;
    int64_t keys = 0;
  };

  explicit held_partition(std::shared_ptr<const state_operator> op);

  /// Runs call `what` (a `state_call`) for batch `t` with `in`; an
  /// `errc::illegal_state` error for an unknown call, an
  /// `errc::job_failure` error with the exception's text when the
  /// operator's call threw.
  caf::expected<answer> call(uint8_t what, time t, const block& in);

private:
  int64_t keys() const;

  std::shared_ptr<const state_operator> op_;
  std::shared_ptr<void> partition_;
  // The last batch updated and the output it gave, or why it failed.
  std::optional<time> updated_;
  block output_;
  std::string failure_;
};

} // namespace caf_stream::actors
