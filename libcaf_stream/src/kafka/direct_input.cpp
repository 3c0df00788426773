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
#include <set>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::kafka {

std::string to_string(const offset_range& x) {
  return "OffsetRange(topic: '" + x.topic + "', partition: "
         + std::to_string(x.partition) + ", range: ["
         + std::to_string(x.from_offset) + " -> "
         + std::to_string(x.until_offset) + "])";
}

namespace detail {

namespace {

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const noexcept {
    rd_kafka_destroy(rk);
  }
};

struct list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* xs) const noexcept {
    rd_kafka_topic_partition_list_destroy(xs);
  }
};

struct message_deleter {
  void operator()(rd_kafka_message_t* x) const noexcept {
    rd_kafka_message_destroy(x);
  }
};

struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* x) const noexcept {
    rd_kafka_metadata_destroy(x);
  }
};

using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;
using metadata_ptr
  = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;

std::string name(const topic_partition& tp) {
  return "topic '" + tp.topic + "' partition " + std::to_string(tp.partition);
}

[[noreturn]] void source_failure(const std::string& what) {
  throw stream_error(errc::source_failure, "kafka: " + what);
}

// librdkafka's own log lines go to the "kafka" logger.
void log_line(const rd_kafka_t*, int level, const char* facility,
              const char* text) {
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  caf_stream::detail::logger("kafka")->log(lvl, "librdkafka {}: {}", facility,
                                           text);
}

handle_ptr make_consumer(const params& ps) {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_line);
  for (auto& [k, v] : ps) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr))
        != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw stream_error(errc::invalid_config,
                         "kafka: parameter '" + k + "': " + errstr);
    }
  }
  auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw stream_error(errc::invalid_config,
                       std::string{"kafka: cannot create a consumer: "}
                         + errstr);
  }
  return handle_ptr{rk};
}

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

int timeout_ms(duration d) {
  return static_cast<int>(std::min<int64_t>(d.count(), INT32_MAX));
}

std::string value_of(const params& ps, const char* key) {
  auto i = ps.find(key);
  return i != ps.end() ? i->second : std::string{};
}

// The metadata of `topic`, which `rk` asks the cluster for (and keeps).
metadata_ptr topic_metadata(rd_kafka_t* rk, const std::string& topic,
                            int timeout) {
  auto* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, rkt, &md, timeout);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    source_failure("cannot get the metadata of topic '" + topic
                   + "': " + rd_kafka_err2str(err));
  return metadata_ptr{md};
}

} // namespace

/// A connected consumer of a pool, and the topics it has the metadata of.
struct pooled_consumer {
  handle_ptr rk;
  std::set<std::string> topics;
};

/// Connected consumers for the tasks of one stream: a task takes one, reads
/// its range and gives it back; one that failed is dropped.
class consumer_pool {
public:
  explicit consumer_pool(params ps) : params_(std::move(ps)) {
    // nop
  }

  ~consumer_pool() {
    for (auto& x : idle_)
      rd_kafka_consumer_close(x.rk.get());
  }

  pooled_consumer take() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!idle_.empty()) {
        auto result = std::move(idle_.back());
        idle_.pop_back();
        return result;
      }
    }
    return pooled_consumer{make_consumer(params_), {}};
  }

  void give(pooled_consumer x) {
    std::lock_guard<std::mutex> guard{mtx_};
    idle_.push_back(std::move(x));
  }

private:
  params params_;
  std::mutex mtx_;
  std::vector<pooled_consumer> idle_;
};

/// The driver's consumer: it never reads records, only metadata, offsets and
/// commits.
class driver_consumer {
public:
  driver_consumer(const params& ps, duration timeout)
    : rk_(make_consumer(ps)),
      timeout_(timeout_ms(timeout)),
      has_group_(!value_of(ps, "group.id").empty()) {
    // nop
  }

  ~driver_consumer() {
    rd_kafka_consumer_close(rk_.get());
  }

  std::vector<topic_partition> partitions_of(const std::string& topic) {
    auto md = topic_metadata(rk_.get(), topic, timeout_);
    return collect(md.get(),
                   [&](const std::string& t) { return t == topic; });
  }

  std::vector<topic_partition> partitions_matching(const std::regex& re) {
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, timeout_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      source_failure(std::string{"cannot list the topics: "}
                     + rd_kafka_err2str(err));
    auto result = collect(md, [&](const std::string& t) {
      return t.compare(0, 2, "__") != 0 && std::regex_match(t, re);
    });
    rd_kafka_metadata_destroy(md);
    return result;
  }

  std::pair<int64_t, int64_t> watermarks(const topic_partition& tp) {
    int64_t low = 0;
    int64_t high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk_.get(), tp.topic.c_str(),
                                                tp.partition, &low, &high,
                                                timeout_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      source_failure("cannot get the offsets of " + name(tp) + ": "
                     + rd_kafka_err2str(err));
    return {low, high};
  }

  std::optional<int64_t> committed(const topic_partition& tp) {
    if (!has_group_)
      return std::nullopt;
    list_ptr xs{rd_kafka_topic_partition_list_new(1)};
    rd_kafka_topic_partition_list_add(xs.get(), tp.topic.c_str(), tp.partition);
    auto err = rd_kafka_committed(rk_.get(), xs.get(), timeout_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      source_failure("cannot get the committed offset of " + name(tp) + ": "
                     + rd_kafka_err2str(err));
    auto offset = xs->elems[0].offset;
    if (offset < 0)
      return std::nullopt;
    return offset;
  }

  /// Returns the error text, empty on success.
  std::string commit(const std::vector<offset_range>& ranges) {
    if (!has_group_)
      return "no group.id to commit offsets to";
    list_ptr xs{rd_kafka_topic_partition_list_new(
      static_cast<int>(ranges.size()))};
    for (auto& r : ranges)
      rd_kafka_topic_partition_list_add(xs.get(), r.topic.c_str(), r.partition)
        ->offset = r.until_offset;
    auto err = rd_kafka_commit(rk_.get(), xs.get(), 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return rd_kafka_err2str(err);
    for (int i = 0; i < xs->cnt; ++i)
      if (xs->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return name({xs->elems[i].topic, xs->elems[i].partition}) + ": "
               + rd_kafka_err2str(xs->elems[i].err);
    return {};
  }

private:
  template <class Pred>
  static std::vector<topic_partition> collect(const rd_kafka_metadata_t* md,
                                              Pred pred) {
    std::vector<topic_partition> result;
    for (int i = 0; i < md->topic_cnt; ++i) {
      auto& t = md->topics[i];
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || !pred(t.topic))
        continue;
      for (int j = 0; j < t.partition_cnt; ++j)
        result.push_back({t.topic, t.partitions[j].id});
    }
    std::sort(result.begin(), result.end());
    return result;
  }

  handle_ptr rk_;
  int timeout_;
  bool has_group_;
};

std::optional<std::map<topic_partition, int64_t>>
max_records_per_partition(const std::map<topic_partition, int64_t>& lags,
                          std::optional<double> rate,
                          const direct_settings& settings,
                          duration batch_interval) {
  auto max_rate = settings.max_rate_per_partition;
  std::map<topic_partition, double> limits;
  if (rate && *rate > 0) {
    double total = 0;
    for (auto& [tp, lag] : lags)
      total += static_cast<double>(std::max<int64_t>(lag, 0));
    for (auto& [tp, lag] : lags) {
      auto share = total > 0 ? static_cast<double>(std::max<int64_t>(lag, 0))
                                 / total * *rate
                             : 0.0;
      limits.emplace(tp, max_rate > 0 ? std::min(share, max_rate) : share);
    }
  } else if (max_rate > 0) {
    for (auto& [tp, lag] : lags)
      limits.emplace(tp, max_rate);
  } else {
    return std::nullopt;
  }
  auto seconds = static_cast<double>(batch_interval.count()) / 1000.0;
  auto at_least = static_cast<int64_t>(
    std::ceil(settings.min_rate_per_partition * seconds));
  std::map<topic_partition, int64_t> result;
  for (auto& [tp, limit] : limits)
    result.emplace(
      tp, std::max(static_cast<int64_t>(std::floor(limit * seconds)),
                   at_least));
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
  // Settings only the driver's consumer needs would be refused by tasks'.
  driver_ = std::make_unique<driver_consumer>(consumer_.kafka_params,
                                              settings_.poll_timeout);
  // A bad executor setting shows here, not in the first task.
  pool_ = std::make_unique<consumer_pool>(executor_params_);
  pool_->give(pooled_consumer{make_consumer(executor_params_), {}});
}

direct_input::~direct_input() {
  commit_queued();
}

std::vector<topic_partition> direct_input::current_partitions() {
  switch (consumer_.how) {
    case consumer_settings::kind::assign:
      return consumer_.partitions;
    case consumer_settings::kind::subscribe_pattern:
      return driver_->partitions_matching(std::regex{consumer_.pattern});
    case consumer_settings::kind::subscribe:
      break;
  }
  std::vector<topic_partition> result;
  for (auto& t : consumer_.topics) {
    auto xs = driver_->partitions_of(t);
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
  if (auto offset = driver_->committed(tp))
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
      auto [low, high] = driver_->watermarks(tp);
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
      if (limits)
        until = std::min(until, from + limits->at(tp));
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
      error = driver_->commit(ranges);
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

namespace {

// Gets the metadata of `topic` for `x` once: a consumer assigned a partition
// of a topic it knows nothing of starts fetching only after librdkafka's
// next scan of unknown topics, which runs once a second (a range of a
// 10 ms read took a second then).
void learn_topic(pooled_consumer& x, const std::string& topic,
                 const direct_settings& settings) {
  if (x.topics.count(topic) != 0)
    return;
  topic_metadata(x.rk.get(), topic, timeout_ms(settings.poll_timeout));
  x.topics.insert(topic);
}

// Reads `range` with the connected consumer `rk`: assigns it, reads, and
// takes the assignment back. Throws as `read_range` says.
void read_with(rd_kafka_t* rk, const offset_range& range,
               const direct_settings& settings,
               const std::function<void(raw_record&&)>& f) {
  auto where = [&](int64_t offset) {
    return "offset " + std::to_string(offset) + " of "
           + name(range.topic_partition());
  };
  list_ptr xs{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(xs.get(), range.topic.c_str(),
                                    range.partition)
    ->offset = range.from_offset;
  if (auto err = rd_kafka_assign(rk, xs.get()))
    source_failure("cannot read " + name(range.topic_partition()) + ": "
                   + rd_kafka_err2str(err));
  auto expected = range.from_offset;
  while (expected < range.until_offset) {
    message_ptr msg{
      rd_kafka_consumer_poll(rk, timeout_ms(settings.poll_timeout))};
    if (!msg)
      source_failure("no record at " + where(expected) + " within "
                     + std::to_string(settings.poll_timeout.count())
                     + " ms (stream.kafka.poll-timeout): is the broker up?");
    // A pooled consumer may still deliver what it fetched for its last
    // range: only this range's partition counts.
    if (msg->rkt != nullptr
        && (msg->partition != range.partition
            || range.topic != rd_kafka_topic_name(msg->rkt)))
      continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (msg->offset < expected)
        continue;
      if (settings.allow_non_consecutive_offsets)
        break;
      source_failure(where(expected)
                     + " is past the partition's end before the range's "
                       "end "
                     + std::to_string(range.until_offset)
                     + ": the topic has gaps (compaction or transactions); "
                       "set stream.kafka.allow-non-consecutive-offsets");
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      source_failure("cannot read " + where(expected) + ": "
                     + rd_kafka_message_errstr(msg.get()));
    if (msg->offset < expected)
      continue;
    if (msg->offset >= range.until_offset)
      break;
    if (msg->offset != expected && !settings.allow_non_consecutive_offsets)
      source_failure("got offset " + std::to_string(msg->offset) + " where "
                     + where(expected)
                     + " was expected: the topic has gaps (compaction or "
                       "transactions); set "
                       "stream.kafka.allow-non-consecutive-offsets");
    raw_record r;
    r.topic = range.topic;
    r.partition = range.partition;
    r.offset = msg->offset;
    rd_kafka_timestamp_type_t type;
    r.timestamp = rd_kafka_message_timestamp(msg.get(), &type);
    if (msg->key != nullptr)
      r.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload != nullptr)
      r.value.emplace(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg.get(), &hdrs)
        == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* hname = nullptr;
      const void* hvalue = nullptr;
      size_t hsize = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &hname, &hvalue, &hsize)
           == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i)
        r.headers.emplace_back(
          hname, hvalue != nullptr
                   ? std::optional<std::string>{std::string{
                     static_cast<const char*>(hvalue), hsize}}
                   : std::nullopt);
    }
    expected = msg->offset + 1;
    f(std::move(r));
  }
  rd_kafka_assign(rk, nullptr);
}

} // namespace

namespace {

// Reads `range` with a consumer of `pool`; one that failed does not go back.
void read_pooled(consumer_pool& pool, const offset_range& range,
                 const direct_settings& settings,
                 const std::function<void(raw_record&&)>& f) {
  if (range.count() <= 0)
    return;
  auto x = pool.take();
  try {
    learn_topic(x, range.topic, settings);
    read_with(x.rk.get(), range, settings, f);
  } catch (...) {
    rd_kafka_consumer_close(x.rk.get());
    throw;
  }
  pool.give(std::move(x));
}

} // namespace

void read_range(const params& executor_params, const offset_range& range,
                const direct_settings& settings,
                const std::function<void(raw_record&&)>& f) {
  consumer_pool pool{executor_params};
  read_pooled(pool, range, settings, f);
}

void direct_input::read(const offset_range& range,
                        const std::function<void(raw_record&&)>& f) {
  read_pooled(*pool_, range, settings_, f);
}

} // namespace detail
} // namespace caf_stream::kafka
