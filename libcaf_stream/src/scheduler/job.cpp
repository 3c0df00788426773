#include "caf_stream/scheduler/job.hpp"

#include <exception>

#include "caf_stream/clock.hpp"

namespace caf_stream {

std::vector<std::string>
generated_input::to_bytes(const std::vector<bool>* wanted) const {
  if (data) {
    if (encode == nullptr)
      detail::throw_not_serializable("sending a batch's input");
    return encode(data.get(), wanted);
  }
  if (wanted == nullptr)
    return partitions;
  std::vector<std::string> result(partitions.size());
  for (size_t i = 0; i < result.size() && i < wanted->size(); ++i)
    if ((*wanted)[i])
      result[i] = partitions[i];
  return result;
}

output_operation_info run_output_operation(
  const job& j, detail::function_ref<void()> body, const clock& clk,
  detail::function_ref<void(const output_operation_info&)> started) {
  output_operation_info result;
  result.batch_time = j.batch_time;
  result.id = j.output_id;
  result.name = j.name;
  result.start_time = clk.now();
  started(result);
  try {
    body();
  } catch (const std::exception& e) {
    result.failure_reason = e.what();
  }
  result.end_time = clk.now();
  return result;
}

} // namespace caf_stream
