#include "caf_stream/scheduler/task_runner.hpp"

#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf_stream {

namespace {

class inline_task_runner final : public task_runner {
protected:
  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    for (size_t i = 0; i < n; ++i)
      task(i);
  }
};

// The tasks the calling thread runs, one inside the other when a runner
// runs a task inline that another runner handed it.
thread_local size_t tasks_running = 0;

// Counts a task on its thread while it lives.
class task_scope {
public:
  task_scope() noexcept {
    ++tasks_running;
  }

  ~task_scope() {
    --tasks_running;
  }

  task_scope(const task_scope&) = delete;

  task_scope& operator=(const task_scope&) = delete;
};

} // namespace

task_runner::~task_runner() {
  // nop
}

void task_runner::run(size_t n, detail::function_ref<void(size_t)> task) {
  run_tasks(n, [task](size_t i) {
    task_scope scope;
    task(i);
  });
}

bool task_runner::in_task() noexcept {
  return tasks_running > 0;
}

void task_runner::run_map_stage(const detail::rdd_node_base& shuffle,
                                size_t n,
                                detail::function_ref<void(size_t)> task) {
  shuffle.prepare_parents(*this);
  run(n, task);
}

std::optional<std::vector<std::string>>
task_runner::run_result_stage(const detail::rdd_node_base&,
                              const std::vector<uint32_t>&, result_form) {
  return std::nullopt;
}

block task_runner::fetch_block(const block& b) {
  throw stream_error(errc::illegal_state,
                     "a block of receiver stream " + std::to_string(b.stream_id)
                       + " stayed on the worker node " + b.location
                       + ": only the runtime's jobs and tasks fetch it");
}

std::vector<block> task_runner::call_state(const state_operator& op,
                                           state_call, time,
                                           std::vector<block>) {
  throw stream_error(errc::illegal_state,
                     op.signature()
                       + ": state streams run inside a started streaming "
                         "context only (their state lives in its actors)");
}

task_runner& task_runner::inline_runner() noexcept {
  static inline_task_runner instance;
  return instance;
}

streaming_listener::~streaming_listener() {
  // nop
}

void streaming_listener::on_streaming_started(time) {
  // nop
}

void streaming_listener::on_batch_submitted(const batch_info&) {
  // nop
}

void streaming_listener::on_batch_started(const batch_info&) {
  // nop
}

void streaming_listener::on_batch_completed(const batch_info&) {
  // nop
}

void streaming_listener::on_output_operation_started(
  const output_operation_info&) {
  // nop
}

void streaming_listener::on_output_operation_completed(
  const output_operation_info&) {
  // nop
}

void streaming_listener::on_receiver_started(const receiver_info&) {
  // nop
}

void streaming_listener::on_receiver_error(const receiver_info&) {
  // nop
}

void streaming_listener::on_receiver_stopped(const receiver_info&) {
  // nop
}

void streaming_listener::on_receiver_rate_updated(const receiver_info&) {
  // nop
}

void streaming_listener::on_checkpoint_written(const checkpoint_info&) {
  // nop
}

void streaming_listener::on_executor_added(const executor_info&) {
  // nop
}

void streaming_listener::on_executor_removed(const executor_info&) {
  // nop
}

} // namespace caf_stream
