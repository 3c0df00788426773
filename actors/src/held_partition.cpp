#include "held_partition.hpp"

#include <exception>
#include <utility>

#include "caf_stream/actors/error.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/scheduler/task_runner.hpp"

namespace caf_stream::actors {

held_partition::held_partition(std::shared_ptr<const state_operator> op)
  : op_(std::move(op)), partition_(op_->make_partition()) {
  // nop
}

caf::expected<held_partition::answer>
held_partition::call(uint8_t what, time t, const block& in) {
  if (what > static_cast<uint8_t>(state_call::save))
    return caf::make_error(errc::illegal_state,
                           "unknown state call " + std::to_string(what));
  auto kind = static_cast<state_call>(what);
  auto update = kind == state_call::update;
  if (update && updated_ == t) {
    if (!failure_.empty())
      return caf::make_error(errc::job_failure, failure_);
    return answer{output_, keys()};
  }
  if (update) {
    updated_ = t;
    output_ = block{};
    failure_.clear();
  }
  try {
    // The state stream's functions run inside a task, as in Spark, where
    // they are a stage's: an RDD action there is refused (SPARK-5063).
    block out;
    task_runner::inline_runner().run(1, [&](size_t) {
      out = op_->call(partition_.get(), kind, t, in);
    });
    if (update)
      output_ = out;
    return answer{std::move(out), keys()};
  } catch (const std::exception& e) {
    if (update)
      failure_ = e.what();
    return caf::make_error(errc::job_failure, std::string{e.what()});
  }
}

int64_t held_partition::keys() const {
  return static_cast<int64_t>(op_->num_keys(partition_.get()));
}

} // namespace caf_stream::actors
