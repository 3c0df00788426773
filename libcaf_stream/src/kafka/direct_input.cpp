#include "caf_stream/kafka/direct_input.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"

#include "consumers.hpp"

namespace caf_stream::kafka {

std::string to_string(const offset_range& x) {
  return "OffsetRange(topic: '" + x.topic + "', partition: "
         + std::to_string(x.partition) + ", range: ["
         + std::to_string(x.from_offset) + " -> "
         + std::to_string(x.until_offset) + "])";
}

per_partition_config::~per_partition_config() {
  // nop
}

double per_partition_config::min_rate_per_partition(
  const topic_partition&) const {
  return 1;
}

namespace detail {

namespace {

// Writes `bytes` to a temporary sibling, then renames it over `path`.
void write_file_atomically(const std::string& path, const std::string& bytes) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
      throw stream_error(errc::source_failure,
                         "kafka: cannot write the offset ranges file '" + tmp
                           + "': " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw stream_error(errc::source_failure,
                       "kafka: cannot rename the offset ranges file to '"
                         + path + "': " + std::strerror(errno));
}

// The maximum and minimum rates of partition `tp`.
std::pair<double, double> rates_of(const topic_partition& tp,
                                   const direct_settings& settings) {
  const auto* own = settings.per_partition.get();
  if (own == nullptr)
    return {settings.max_rate_per_partition, settings.min_rate_per_partition};
  auto valid = [&](const char* what, double x) {
    if (!(x >= 0) || std::isinf(x))
      throw stream_error(errc::invalid_config,
                         std::string{"kafka: per_partition_config's "} + what
                           + " of " + name(tp) + " is " + std::to_string(x)
                           + "; it must be a finite number, not negative");
    return x;
  };
  return {valid("max_rate_per_partition", own->max_rate_per_partition(tp)),
          valid("min_rate_per_partition", own->min_rate_per_partition(tp))};
}

} // namespace

std::optional<std::map<topic_partition, int64_t>>
max_records_per_partition(const std::map<topic_partition, int64_t>& lags,
                          std::optional<double> rate,
                          const direct_settings& settings,
                          duration batch_interval) {
  std::map<topic_partition, std::pair<double, double>> rates;
  for (auto& [tp, lag] : lags)
    rates.emplace(tp, rates_of(tp, settings));
  std::map<topic_partition, double> limits;
  if (rate && *rate > 0) {
    double total = 0;
    for (auto& [tp, lag] : lags)
      total += static_cast<double>(std::max<int64_t>(lag, 0));
    for (auto& [tp, lag] : lags) {
      auto share = total > 0 ? static_cast<double>(std::max<int64_t>(lag, 0))
                                 / total * *rate
                             : 0.0;
      auto max_rate = rates.at(tp).first;
      limits.emplace(tp, max_rate > 0 ? std::min(share, max_rate) : share);
    }
  } else {
    for (auto& [tp, lag] : lags)
      if (auto max_rate = rates.at(tp).first; max_rate > 0)
        limits.emplace(tp, max_rate);
    if (limits.empty())
      return std::nullopt;
  }
  auto seconds = static_cast<double>(batch_interval.count()) / 1000.0;
  std::map<topic_partition, int64_t> result;
  for (auto& [tp, limit] : limits) {
    auto at_least = static_cast<int64_t>(
      std::ceil(rates.at(tp).second * seconds));
    result.emplace(
      tp, std::max(static_cast<int64_t>(std::floor(limit * seconds)),
                   at_least));
  }
  return result;
}

direct_input::direct_input(consumer_settings consumer,
                           direct_settings settings, duration batch_interval)
  : consumer_(std::move(consumer)),
    settings_(settings),
    batch_interval_(batch_interval) {
  if (consumer_.how == consumer_settings::kind::subscribe_pattern) {
    try {
      std::regex{consumer_.pattern};
    } catch (const std::regex_error& e) {
      throw stream_error(errc::invalid_graph,
                         "kafka::subscribe_pattern: bad pattern '"
                           + consumer_.pattern + "': " + e.what());
    }
  }
  executor_params_ = consumer_.kafka_params;
  auto group = value_of(executor_params_, "group.id");
  executor_params_["group.id"] = "caf-stream-executor-"
                                 + (group.empty() ? "none" : group);
  executor_params_["enable.auto.commit"] = "false";
  executor_params_["enable.partition.eof"] = "true";
  executor_params_["auto.offset.reset"] = "error";
  // A range ends at the partition's end, where a fetch would wait this long
  // for more records (500 ms by default) and hold up the next range.
  if (executor_params_.count("fetch.wait.max.ms") == 0)
    executor_params_["fetch.wait.max.ms"] = "5";
  // A bad setting shows here, not in the first batch or task.
  check_settings(consumer_.kafka_params, "kafka");
  waits_ = std::make_unique<kafka_waits>();
  pool_ = std::make_unique<consumer_pool>(executor_params_, *waits_);
  pool_->connect_one();
}

direct_input::~direct_input() {
  commit_queued();
}

void direct_input::interrupt() noexcept {
  waits_->interrupt();
}

driver_consumer& direct_input::driver() {
  std::lock_guard<std::mutex> guard{driver_mtx_};
  if (!driver_)
    driver_ = std::make_unique<driver_consumer>(
      consumer_.kafka_params, settings_.poll_timeout, *waits_);
  return *driver_;
}

std::vector<topic_partition> direct_input::current_partitions() {
  switch (consumer_.how) {
    case consumer_settings::kind::assign:
      return consumer_.partitions;
    case consumer_settings::kind::subscribe_pattern:
      return driver().partitions_matching(std::regex{consumer_.pattern});
    case consumer_settings::kind::subscribe:
      break;
  }
  std::vector<topic_partition> result;
  for (auto& t : consumer_.topics) {
    auto xs = driver().partitions_of(t);
    result.insert(result.end(), xs.begin(), xs.end());
  }
  return result;
}

void direct_input::update_rate(double records_per_second) {
  std::lock_guard<std::mutex> guard{mtx_};
  rate_ = records_per_second;
}

int64_t direct_input::starting_offset(const topic_partition& tp, int64_t low,
                                      int64_t high) {
  if (auto i = consumer_.offsets.find(tp); i != consumer_.offsets.end())
    return i->second;
  if (auto offset = driver().committed(tp))
    return *offset;
  auto reset = value_of(consumer_.kafka_params, "auto.offset.reset");
  if (reset == "earliest" || reset == "smallest" || reset == "beginning")
    return low;
  if (reset.empty() || reset == "latest" || reset == "largest"
      || reset == "end")
    return high;
  source_failure("no committed offset for " + name(tp)
                 + " and auto.offset.reset is '" + reset + "'");
}

std::vector<offset_range> direct_input::next_ranges(
  time t, const std::string& ranges_file) {
  commit_queued();
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<offset_range> result;
  if (auto i = replay_.find(t); i != replay_.end()) {
    result = std::move(i->second);
    replay_.erase(replay_.begin(), std::next(i));
  } else {
    replay_.erase(replay_.begin(), replay_.upper_bound(t));
    auto log = caf_stream::detail::logger("kafka");
    auto reset = value_of(consumer_.kafka_params, "auto.offset.reset");
    // Where each partition's range starts, and its latest offset.
    std::map<topic_partition, std::pair<int64_t, int64_t>> spans;
    std::map<topic_partition, int64_t> next = positions_;
    for (auto& tp : current_partitions()) {
      auto [low, high] = driver().watermarks(tp);
      auto i = next.find(tp);
      if (i == next.end()) {
        // A partition of the first batch starts as the settings say; one
        // added to a topic later starts at its beginning.
        auto from = positions_.empty() || consumer_.offsets.count(tp) > 0
                      ? starting_offset(tp, low, high)
                      : low;
        i = next.emplace(tp, from).first;
      }
      auto from = i->second;
      if (from < low) {
        if (reset != "earliest" && reset != "smallest" && reset != "beginning")
          source_failure("offset " + std::to_string(from) + " of " + name(tp)
                         + " is no longer in Kafka (retention removed it; "
                           "the earliest is "
                         + std::to_string(low)
                         + "); set auto.offset.reset=earliest to go on from "
                           "there");
        log->warn("offsets {} to {} of {} are no longer in Kafka (retention); "
                  "going on from {}",
                  from, low - 1, name(tp), low);
        from = low;
      }
      spans.emplace(tp, std::make_pair(from, std::max(from, high)));
    }
    std::map<topic_partition, int64_t> lags;
    for (auto& [tp, span] : spans)
      lags.emplace(tp, span.second - span.first);
    auto rate = rate_;
    if (!rate && settings_.backpressure && settings_.initial_rate > 0)
      rate = settings_.initial_rate;
    auto limits = max_records_per_partition(lags, rate, settings_,
                                            batch_interval_);
    for (auto& [tp, span] : spans) {
      auto [from, until] = span;
      if (limits) {
        if (auto i = limits->find(tp); i != limits->end())
          until = std::min(until, from + i->second);
      }
      result.push_back({tp.topic, tp.partition, from, until});
      next[tp] = until;
    }
    positions_ = std::move(next);
  }
  batches_[t] = result;
  if (!ranges_file.empty()) {
    std::vector<std::pair<int64_t, std::vector<offset_range>>> xs;
    for (auto& [bt, ranges] : batches_)
      xs.emplace_back(bt.milliseconds(), ranges);
    write_file_atomically(ranges_file, caf_stream::detail::to_bytes(xs));
  }
  return result;
}

std::vector<std::string>
direct_input::leader_hosts(const std::vector<offset_range>& ranges) {
  std::vector<std::string> result(ranges.size());
  std::map<std::string, std::map<int32_t, std::string>> leaders;
  try {
    for (size_t i = 0; i < ranges.size(); ++i) {
      auto j = leaders.find(ranges[i].topic);
      if (j == leaders.end())
        j = leaders
              .emplace(ranges[i].topic,
                       driver().leader_hosts(ranges[i].topic))
              .first;
      auto k = j->second.find(ranges[i].partition);
      if (k != j->second.end())
        result[i] = k->second;
    }
  } catch (const stream_error& e) {
    caf_stream::detail::logger("kafka")->warn(
      "the batch's tasks prefer no broker: {}", e.what());
    return std::vector<std::string>(ranges.size());
  }
  return result;
}

std::vector<std::pair<time, std::vector<offset_range>>>
direct_input::restore_ranges_file(const std::string& ranges_file) {
  std::vector<std::pair<time, std::vector<offset_range>>> result;
  std::ifstream in{ranges_file, std::ios::binary};
  if (!in)
    return result;
  std::string bytes{std::istreambuf_iterator<char>{in},
                    std::istreambuf_iterator<char>{}};
  std::vector<std::pair<int64_t, std::vector<offset_range>>> xs;
  try {
    caf_stream::detail::from_bytes(bytes, xs);
  } catch (const std::exception& e) {
    // Written atomically, so this is damage from outside: say so and go on
    // with the checkpoint's ranges alone.
    caf_stream::detail::logger("kafka")->warn(
      "ignoring the unreadable offset ranges file '{}': {}", ranges_file,
      e.what());
    return result;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [ms, ranges] : xs)
    if (batches_.count(time{ms}) == 0)
      result.emplace_back(time{ms}, adopt(time{ms}, std::move(ranges)));
  return result;
}

std::vector<offset_range> direct_input::adopt(time t,
                                              std::vector<offset_range> ranges) {
  for (auto& r : ranges) {
    auto& pos = positions_[r.topic_partition()];
    pos = std::max(pos, r.until_offset);
  }
  batches_[t] = ranges;
  replay_[t] = ranges;
  return ranges;
}

std::vector<offset_range> direct_input::ranges_of(time t) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = batches_.find(t); i != batches_.end())
    return i->second;
  throw stream_error(errc::invalid_graph,
                     "kafka: the direct stream has no offset ranges for batch "
                       + to_string(t)
                       + " (is the sink's stream slid differently?)");
}

void direct_input::forget_before(time t) {
  std::lock_guard<std::mutex> guard{mtx_};
  batches_.erase(batches_.begin(), batches_.lower_bound(t));
}

std::string direct_input::checkpoint_positions() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::pair<int64_t, std::vector<offset_range>>> xs;
  for (auto& [t, ranges] : batches_)
    xs.emplace_back(t.milliseconds(), ranges);
  return caf_stream::detail::to_bytes(xs);
}

std::vector<std::pair<time, std::vector<offset_range>>>
direct_input::restore_positions(const std::string& bytes) {
  std::vector<std::pair<int64_t, std::vector<offset_range>>> xs;
  caf_stream::detail::from_bytes(bytes, xs);
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::pair<time, std::vector<offset_range>>> result;
  for (auto& [ms, ranges] : xs)
    result.emplace_back(time{ms}, adopt(time{ms}, std::move(ranges)));
  return result;
}

void direct_input::commit_async(
  std::vector<offset_range> ranges,
  std::function<void(const std::string&)> callback) {
  std::lock_guard<std::mutex> guard{mtx_};
  commits_.emplace_back(std::move(ranges), std::move(callback));
}

void direct_input::commit_queued() noexcept {
  decltype(commits_) queued;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queued.swap(commits_);
  }
  auto log = caf_stream::detail::logger("kafka");
  for (auto& [ranges, callback] : queued) {
    std::string error;
    try {
      error = driver().commit(ranges);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty())
      log->warn("committing offsets failed: {}", error);
    if (callback) {
      try {
        callback(error);
      } catch (const std::exception& e) {
        log->error("a commit callback threw: {}", e.what());
      }
    }
  }
}
void direct_input::read(const offset_range& range,
                        const std::function<void(raw_record&&)>& f) {
  pool_->read(range, settings_, f);
}

} // namespace detail
} // namespace caf_stream::kafka
