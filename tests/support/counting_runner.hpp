#pragma once

#include <cstddef>

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

namespace support {

/// Runs every task at once, counting the stages and tasks it ran.
class counting_runner final : public caf_stream::task_runner {
public:
  void run_tasks(size_t n,
                 caf_stream::detail::function_ref<void(size_t)> task) override {
    ++stages;
    tasks += n;
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  size_t stages = 0;
  size_t tasks = 0;
};

} // namespace support
