#include "caf_stream/ui/streaming_statistics.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

#include "caf_stream/ui/prometheus.hpp"

namespace caf_stream::ui {

namespace {

using json = nlohmann::json;

// Spark's REST API writes times as "yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'".
std::string gmt(time t) {
  auto ms = t.milliseconds();
  auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &parts);
  auto millis = std::to_string(ms % 1000);
  return std::string{date} + "." + std::string(3 - millis.size(), '0')
         + millis + "GMT";
}

const char* status_of(const batch_info& x) {
  if (x.processing_end_time)
    return "COMPLETED";
  return x.processing_start_time ? "PROCESSING" : "QUEUED";
}

json batch_to_json(const batch_info& x,
                   const std::map<int32_t, std::string>& state_streams) {
  json result{{"batchId", x.batch_time.milliseconds()},
              {"batchTime", gmt(x.batch_time)},
              {"status", status_of(x)},
              {"batchDuration", x.batch_interval.count()},
              {"inputSize", x.num_records}};
  if (auto d = x.scheduling_delay())
    result["schedulingDelay"] = d->count();
  if (auto d = x.processing_delay())
    result["processingTime"] = d->count();
  if (auto d = x.total_delay())
    result["totalDelay"] = d->count();
  size_t failed = 0;
  for (const auto& op : x.output_operations)
    if (op.failure_reason)
      ++failed;
  auto done = x.output_operations.size();
  result["numActiveOutputOps"] = 0;
  result["numCompletedOutputOps"] = done - failed;
  result["numFailedOutputOps"] = failed;
  result["numTotalOutputOps"] = done;
  if (x.failure_reason)
    result["firstFailureReason"] = *x.failure_reason;
  // Not in Spark's API: the state sizes the Streaming tab shows.
  if (!x.state_keys.empty()) {
    json states = json::array();
    for (const auto& [id, keys] : x.state_keys) {
      auto i = state_streams.find(id);
      states.push_back(
        {{"stateStreamId", id},
         {"name", i != state_streams.end() ? i->second : std::string{}},
         {"numKeys", keys}});
    }
    result["stateKeys"] = std::move(states);
  }
  return result;
}

// Records per second of stream `stream_id` in batch `b` (0 if none).
double stream_rate(const batch_info& b, int32_t stream_id) {
  auto i = b.stream_records.find(stream_id);
  if (i == b.stream_records.end() || b.batch_interval.count() <= 0)
    return 0;
  return static_cast<double>(i->second) * 1000.0
         / static_cast<double>(b.batch_interval.count());
}

template <class F>
std::optional<double> average(const std::deque<batch_info>& xs, F f) {
  double sum = 0;
  size_t n = 0;
  for (const auto& x : xs)
    if (auto d = f(x)) {
      sum += static_cast<double>(d->count());
      ++n;
    }
  if (n == 0)
    return std::nullopt;
  return sum / static_cast<double>(n);
}

} // namespace

void streaming_statistics::histogram::observe(double seconds) {
  auto i = std::lower_bound(bounds->begin(), bounds->end(), seconds)
           - bounds->begin();
  if (static_cast<size_t>(i) < bounds->size())
    ++buckets[static_cast<size_t>(i)];
  ++count;
  sum += seconds;
}

streaming_statistics::streaming_statistics(std::string app_id,
                                           time start_time,
                                           duration batch_interval,
                                           size_t retained_batches)
  : app_id_(std::move(app_id)),
    start_time_(start_time),
    batch_interval_(batch_interval),
    retained_batches_(std::max<size_t>(retained_batches, 1)) {
  // nop
}

const std::vector<double>& streaming_statistics::histogram_bounds() {
  static const std::vector<double> bounds{0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,  1,     2.5,  5,
                                          10,    30,   60};
  return bounds;
}

const std::vector<double>& streaming_statistics::checkpoint_bounds() {
  static const std::vector<double> bounds{0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025, 0.05,   0.1,
                                          0.25,   0.5,   1,      2.5};
  return bounds;
}

void streaming_statistics::add_receiver(int32_t stream_id,
                                        const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& r = receivers_[stream_id];
  r.info.stream_id = stream_id;
  r.info.name = name;
}

void streaming_statistics::add_state_stream(int32_t state_id,
                                            const std::string& operation) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_streams_[state_id] = operation;
}

void streaming_statistics::on_batch_submitted(const batch_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  active_[info.batch_time] = info;
}

void streaming_statistics::on_batch_started(const batch_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  active_[info.batch_time] = info;
}

void streaming_statistics::on_batch_completed(const batch_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  active_.erase(info.batch_time);
  completed_.push_back(info);
  if (completed_.size() > retained_batches_)
    completed_.pop_front();
  ++total_completed_;
  if (info.failure_reason)
    ++total_failed_;
  total_records_ += info.num_records;
  for (const auto& [id, n] : info.tasks) {
    if (auto* x = last_executor(id)) {
      x->tasks.completed += n.completed;
      x->tasks.failed += n.failed;
    }
    auto& total = executor_totals_[id];
    total.completed += n.completed;
    total.failed += n.failed;
  }
  for (const auto& [id, keys] : info.state_keys)
    state_keys_[id] = keys;
  // Inputs without a receiver (direct Kafka streams) count here too: only
  // receivers are shown.
  for (const auto& [stream_id, n] : info.stream_records)
    if (auto i = receivers_.find(stream_id); i != receivers_.end())
      i->second.records += n;
  auto seconds = [](duration d) {
    return static_cast<double>(d.count()) / 1000.0;
  };
  if (auto d = info.scheduling_delay())
    scheduling_.observe(seconds(*d));
  if (auto d = info.processing_delay())
    processing_.observe(seconds(*d));
  if (auto d = info.total_delay())
    total_delay_.observe(seconds(*d));
}

void streaming_statistics::on_receiver_started(const receiver_info& info) {
  update_receiver(info);
}

void streaming_statistics::on_receiver_error(const receiver_info& info) {
  update_receiver(info);
}

void streaming_statistics::on_receiver_stopped(const receiver_info& info) {
  update_receiver(info);
}

void streaming_statistics::on_receiver_rate_updated(
  const receiver_info& info) {
  update_receiver(info);
}

void streaming_statistics::on_checkpoint_written(
  const checkpoint_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  checkpoint_writes_.observe(
    std::chrono::duration<double>(info.write_time).count());
  if (info.failure_reason)
    ++checkpoints_failed_;
}

void streaming_statistics::on_executor_added(const executor_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  executors_.push_back(executor_stats{info, {}});
}

void streaming_statistics::on_executor_removed(const executor_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto* x = last_executor(info.id))
    x->info = info;
  auto dead = std::count_if(executors_.begin(), executors_.end(),
                            [](const auto& x) { return !x.info.active; });
  if (static_cast<size_t>(dead) > retained_dead_executors)
    executors_.erase(std::find_if(executors_.begin(), executors_.end(),
                                  [](const auto& x) { return !x.info.active; }));
}

streaming_statistics::executor_stats*
streaming_statistics::last_executor(const std::string& id) {
  for (auto i = executors_.rbegin(); i != executors_.rend(); ++i)
    if (i->info.id == id)
      return &*i;
  return nullptr;
}

void streaming_statistics::update_receiver(const receiver_info& info) {
  std::lock_guard<std::mutex> guard{mtx_};
  receivers_[info.stream_id].info = info;
}

std::string streaming_statistics::applications_json() const {
  json attempt{{"startTime", gmt(start_time_)}, {"completed", false}};
  json app{{"id", app_id_}, {"name", app_id_}, {"attempts", {attempt}}};
  return json::array({app}).dump();
}

std::string streaming_statistics::statistics_json() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t active_receivers = 0;
  for (const auto& [id, r] : receivers_)
    if (r.info.active)
      ++active_receivers;
  int64_t received = total_records_;
  for (const auto& [t, x] : active_)
    received += x.num_records;
  json result{{"startTime", gmt(start_time_)},
              {"batchDuration", batch_interval_.count()},
              {"numReceivers", receivers_.size()},
              {"numActiveReceivers", active_receivers},
              {"numInactiveReceivers", receivers_.size() - active_receivers},
              {"numTotalCompletedBatches", total_completed_},
              {"numRetainedCompletedBatches", completed_.size()},
              {"numActiveBatches", active_.size()},
              {"numProcessedRecords", total_records_},
              {"numReceivedRecords", received}};
  if (!completed_.empty()) {
    double records = 0;
    for (const auto& x : completed_)
      records += x.input_rate();
    result["avgInputRate"] = records / static_cast<double>(completed_.size());
  }
  if (auto x = average(completed_, [](auto& b) { return b.scheduling_delay(); }))
    result["avgSchedulingDelay"] = *x;
  if (auto x = average(completed_, [](auto& b) { return b.processing_delay(); }))
    result["avgProcessingTime"] = *x;
  if (auto x = average(completed_, [](auto& b) { return b.total_delay(); }))
    result["avgTotalDelay"] = *x;
  return result.dump();
}

namespace {

json receiver_to_json(const receiver_info& info,
                      const std::deque<batch_info>& completed) {
  json rates = json::array();
  double sum = 0;
  for (const auto& b : completed) {
    auto rate = stream_rate(b, info.stream_id);
    rates.push_back({b.batch_time.milliseconds(), rate});
    sum += rate;
  }
  json result{{"streamId", info.stream_id},
              {"streamName", info.name},
              {"isActive", info.active},
              {"executorId", info.location},
              {"executorHost", info.location},
              {"eventRates", rates}};
  if (!completed.empty())
    result["avgEventRate"] = sum / static_cast<double>(completed.size());
  if (info.last_error_time) {
    result["lastErrorTime"] = gmt(*info.last_error_time);
    result["lastErrorMessage"] = info.last_error;
    result["lastError"] = info.last_error;
  }
  if (info.rate_limit)
    result["rateLimit"] = *info.rate_limit;
  return result;
}

} // namespace

std::string streaming_statistics::receivers_json() const {
  std::lock_guard<std::mutex> guard{mtx_};
  json result = json::array();
  for (const auto& [id, r] : receivers_)
    result.push_back(receiver_to_json(r.info, completed_));
  return result.dump();
}

std::optional<std::string>
streaming_statistics::receiver_json(int32_t stream_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = receivers_.find(stream_id);
  if (i == receivers_.end())
    return std::nullopt;
  return receiver_to_json(i->second.info, completed_).dump();
}

std::string streaming_statistics::batches_json(const std::string& status) const {
  std::lock_guard<std::mutex> guard{mtx_};
  json result = json::array();
  auto add = [&](const batch_info& x) {
    if (status.empty() || status == status_of(x))
      result.push_back(batch_to_json(x, state_streams_));
  };
  for (auto i = active_.rbegin(); i != active_.rend(); ++i)
    add(i->second);
  for (auto i = completed_.rbegin(); i != completed_.rend(); ++i)
    add(*i);
  return result.dump();
}

std::optional<std::string>
streaming_statistics::batch_json(int64_t batch_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = active_.find(time{batch_id}); i != active_.end())
    return batch_to_json(i->second, state_streams_).dump();
  for (const auto& x : completed_)
    if (x.batch_time.milliseconds() == batch_id)
      return batch_to_json(x, state_streams_).dump();
  return std::nullopt;
}

std::optional<std::string>
streaming_statistics::operations_json(int64_t batch_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  const batch_info* batch = nullptr;
  if (auto i = active_.find(time{batch_id}); i != active_.end())
    batch = &i->second;
  for (const auto& x : completed_)
    if (x.batch_time.milliseconds() == batch_id)
      batch = &x;
  if (batch == nullptr)
    return std::nullopt;
  json result = json::array();
  for (const auto& op : batch->output_operations) {
    json x{{"outputOpId", op.id}, {"name", op.name}, {"description", op.name}};
    if (op.start_time)
      x["startTime"] = gmt(*op.start_time);
    if (op.end_time)
      x["endTime"] = gmt(*op.end_time);
    if (auto d = op.run_time())
      x["duration"] = d->count();
    if (op.failure_reason)
      x["failureReason"] = *op.failure_reason;
    result.push_back(std::move(x));
  }
  return result.dump();
}

std::string streaming_statistics::executors_json(bool all) const {
  std::lock_guard<std::mutex> guard{mtx_};
  json result = json::array();
  for (const auto& [info, tasks] : executors_) {
    if (!all && !info.active)
      continue;
    json x{{"id", info.id},
           {"isActive", info.active},
           {"totalCores", info.total_cores},
           {"maxTasks", info.total_cores},
           {"completedTasks", tasks.completed},
           {"failedTasks", tasks.failed},
           {"totalTasks", tasks.completed + tasks.failed},
           {"addTime", gmt(info.add_time)}};
    // A worker node's id is its "host:port"; the driver need not listen.
    if (info.id != "driver")
      x["hostPort"] = info.id;
    if (info.remove_time)
      x["removeTime"] = gmt(*info.remove_time);
    if (!info.active)
      x["removeReason"] = info.remove_reason;
    result.push_back(std::move(x));
  }
  return result.dump();
}

std::string streaming_statistics::metrics_text() const {
  std::lock_guard<std::mutex> guard{mtx_};
  prometheus_writer out;
  out.family("caf_stream_batches_completed_total", "counter",
             "Batches completed since the start (failed ones included).");
  out.sample("caf_stream_batches_completed_total", {},
             static_cast<double>(total_completed_));
  out.family("caf_stream_batches_failed_total", "counter",
             "Batches whose jobs failed since the start.");
  out.sample("caf_stream_batches_failed_total", {},
             static_cast<double>(total_failed_));
  out.family("caf_stream_batches_active", "gauge",
             "Batches waiting or running.");
  out.sample("caf_stream_batches_active", {},
             static_cast<double>(active_.size()));
  auto stream_labels = [](const receiver_info& info) {
    return prometheus_writer::labels{{"stream", std::to_string(info.stream_id)},
                                     {"name", info.name}};
  };
  out.family("caf_stream_records_received_total", "counter",
             "Records of each receiver stream in completed batches.");
  for (const auto& [id, r] : receivers_)
    out.sample("caf_stream_records_received_total", stream_labels(r.info),
               static_cast<double>(r.records));
  out.family("caf_stream_receiver_active", "gauge",
             "Whether each receiver runs (1) or not (0).");
  for (const auto& [id, r] : receivers_)
    out.sample("caf_stream_receiver_active", stream_labels(r.info),
               r.info.active ? 1 : 0);
  out.family("caf_stream_receiver_input_rate", "gauge",
             "Records per second of each receiver stream in the last "
             "completed batch.");
  for (const auto& [id, r] : receivers_) {
    auto rate = completed_.empty() ? 0.0 : stream_rate(completed_.back(), id);
    out.sample("caf_stream_receiver_input_rate", stream_labels(r.info), rate);
  }
  out.family("caf_stream_receiver_rate_limit", "gauge",
             "Records per second each receiver is held to "
             "(stream.receiver.max-rate or backpressure); absent: none.");
  for (const auto& [id, r] : receivers_)
    if (r.info.rate_limit)
      out.sample("caf_stream_receiver_rate_limit", stream_labels(r.info),
                 *r.info.rate_limit);
  out.family("caf_stream_state_keys", "gauge",
             "Keys each state stream held after the last completed batch.");
  for (const auto& [id, keys] : state_keys_) {
    auto i = state_streams_.find(id);
    out.sample("caf_stream_state_keys",
               {{"state_stream", std::to_string(id)},
                {"operation",
                 i != state_streams_.end() ? i->second : std::string{}}},
               static_cast<double>(keys));
  }
  // By executor id: a worker node reached again after it was lost counts
  // on.
  std::map<std::string, bool> active;
  for (const auto& x : executors_)
    active[x.info.id] = x.info.active;
  out.family("caf_stream_executor_active", "gauge",
             "Whether each executor (the driver, a worker node) takes tasks "
             "(1) or was lost (0).");
  for (const auto& [id, yes] : active)
    out.sample("caf_stream_executor_active", {{"executor", id}}, yes ? 1 : 0);
  out.family("caf_stream_executor_tasks_total", "counter",
             "Tasks each executor ran, by how they ended.");
  for (const auto& [id, n] : executor_totals_) {
    out.sample("caf_stream_executor_tasks_total",
               {{"executor", id}, {"state", "completed"}},
               static_cast<double>(n.completed));
    out.sample("caf_stream_executor_tasks_total",
               {{"executor", id}, {"state", "failed"}},
               static_cast<double>(n.failed));
  }
  auto write = [&](const char* name, const char* help, const histogram& h) {
    out.family(name, "histogram", help);
    out.histogram(name, {}, *h.bounds, h.buckets, h.sum, h.count);
  };
  write("caf_stream_batch_scheduling_delay_seconds",
        "Time batches waited for earlier ones.", scheduling_);
  write("caf_stream_batch_processing_seconds",
        "Time batches' jobs ran.", processing_);
  write("caf_stream_batch_total_delay_seconds",
        "Scheduling delay plus processing time of batches.", total_delay_);
  write("caf_stream_checkpoint_write_seconds",
        "Time the checkpoint writer took to write each checkpoint (failed "
        "writes included).",
        checkpoint_writes_);
  out.family("caf_stream_checkpoints_failed_total", "counter",
             "Checkpoints the checkpoint writer failed to write.");
  out.sample("caf_stream_checkpoints_failed_total", {},
             static_cast<double>(checkpoints_failed_));
  return out.text();
}

} // namespace caf_stream::ui
