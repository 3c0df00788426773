#include "caf_stream/rdd/rdd_context.hpp"

#include "caf_stream/error.hpp"

namespace caf_stream {

task_runner& rdd_context::job_runner_of(const rdd_context* context) {
  if (task_runner::in_task())
    throw stream_error(errc::illegal_state,
                       "an RDD action ran inside a task (a transformation's "
                       "function, a state stream's or a window's, or "
                       "foreach_partition's): only the driver runs jobs, as "
                       "in Spark (SPARK-5063). Run it before, in foreach_rdd "
                       "or transform, and use its result in the function");
  return runner_of(context);
}

} // namespace caf_stream
