#include "consumers.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::kafka::detail {

namespace {

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

struct topic_deleter {
  void operator()(rd_kafka_topic_t* x) const noexcept {
    rd_kafka_topic_destroy(x);
  }
};

struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* x) const noexcept {
    rd_kafka_metadata_destroy(x);
  }
};

using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;
using metadata_ptr
  = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;

int timeout_ms(duration d) {
  return static_cast<int>(std::min<int64_t>(d.count(), INT32_MAX));
}

// Whether `err` says that no broker was up or answered in time: worth
// asking again while time is left.
bool transient(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__TRANSPORT
         || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
         || err == RD_KAFKA_RESP_ERR__TIMED_OUT
         || err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE;
}

// The metadata of `topic`, which `rk` asks the cluster for (and keeps).
metadata_ptr topic_metadata(rd_kafka_t* rk, const std::string& topic,
                            int timeout, const kafka_waits& waits) {
  auto what = "cannot get the metadata of topic '" + topic + "'";
  topic_ptr rkt{rd_kafka_topic_new(rk, topic.c_str(), nullptr)};
  const rd_kafka_metadata_t* md = nullptr;
  auto err = waits.request(timeout, what, [&](int ms) {
    return rd_kafka_metadata(rk, 0, rkt.get(), &md, ms);
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    source_failure(what + ": " + rd_kafka_err2str(err));
  return metadata_ptr{md};
}

// Gets the metadata of `topic` for `x` once: a consumer assigned a partition
// of a topic it knows nothing of starts fetching only after librdkafka's
// next scan of unknown topics, which runs once a second (a range of a
// 10 ms read took a second then).
void learn_topic(pooled_consumer& x, const std::string& topic,
                 const direct_settings& settings, const kafka_waits& waits) {
  if (x.topics.count(topic) != 0)
    return;
  topic_metadata(x.rk.get(), topic, timeout_ms(settings.poll_timeout), waits);
  x.topics.insert(topic);
}

// Reads `range` with the connected consumer `rk`: assigns it, reads, and
// takes the assignment back. Throws as `read_range` says.
void read_with(rd_kafka_t* rk, const offset_range& range,
               const direct_settings& settings, const kafka_waits& waits,
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
    message_ptr msg{waits.poll(rk, timeout_ms(settings.poll_timeout))};
    if (!msg) {
      waits.check("no record at " + where(expected));
      source_failure("no record at " + where(expected) + " within "
                     + std::to_string(settings.poll_timeout.count())
                     + " ms (stream.kafka.poll-timeout): is the broker up?");
    }
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

[[noreturn]] void source_failure(const std::string& what) {
  throw stream_error(errc::source_failure, "kafka: " + what);
}

void kafka_waits::check(const std::string& what) const {
  if (interrupted())
    source_failure(what + ": the streaming context stops");
}

std::pair<int, bool> kafka_waits::next_wait(clock::time_point deadline,
                                            int slice) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - clock::now())
                .count();
  auto ms = static_cast<int>(std::clamp<int64_t>(left, 0, slice));
  return {ms, ms >= left};
}

rd_kafka_resp_err_t kafka_waits::request(
  int timeout_ms, const std::string& what,
  caf_stream::detail::function_ref<rd_kafka_resp_err_t(int)> call) const {
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  auto slice = first_slice_ms;
  for (;;) {
    auto [ms, last] = next_wait(deadline, slice);
    auto err = call(ms);
    if (!transient(err) || last)
      return err;
    // A slice passed without an answer: a request that gets its answer
    // goes on while the context stops, one that waits gives up.
    check(what);
    // No broker was up: ask again as often; one was, but its answer takes
    // longer: wait longer for the next.
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT
        || err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE)
      slice = std::min(slice * 2, max_slice_ms);
  }
}

rd_kafka_message_t* kafka_waits::poll(rd_kafka_t* rk, int timeout_ms) const {
  // A record that is there comes without a look at the clock (28 ns each
  // here), as a task reads most of its records.
  auto first = std::clamp(timeout_ms, 0, first_slice_ms);
  if (auto* msg = rd_kafka_consumer_poll(rk, first); msg != nullptr)
    return msg;
  if (first == timeout_ms)
    return nullptr;
  auto deadline = clock::now()
                  + std::chrono::milliseconds(timeout_ms - first);
  // Records that come keep a task reading while the context stops; the
  // consumer fetches meanwhile, so a slice loses nothing.
  while (!interrupted()) {
    auto [ms, last] = next_wait(deadline, first_slice_ms);
    if (auto* msg = rd_kafka_consumer_poll(rk, ms); msg != nullptr)
      return msg;
    if (last)
      break;
  }
  return nullptr;
}

std::string name(const topic_partition& tp) {
  return "topic '" + tp.topic + "' partition " + std::to_string(tp.partition);
}

handle_ptr make_consumer(const params& ps) {
  return make_client(RD_KAFKA_CONSUMER, ps, "kafka");
}

std::string value_of(const params& ps, const char* key) {
  auto i = ps.find(key);
  return i != ps.end() ? i->second : std::string{};
}

consumer_pool::consumer_pool(params ps, const kafka_waits& waits)
  : params_(std::move(ps)), waits_(waits) {
  // nop
}

consumer_pool::~consumer_pool() {
  for (auto& x : idle_)
    rd_kafka_consumer_close(x.rk.get());
}

void consumer_pool::connect_one() {
  give(pooled_consumer{make_consumer(params_), {}});
}

void consumer_pool::read(const offset_range& range,
                         const direct_settings& settings,
                         const std::function<void(raw_record&&)>& f) {
  if (range.count() <= 0)
    return;
  auto x = take();
  try {
    learn_topic(x, range.topic, settings, waits_);
    read_with(x.rk.get(), range, settings, waits_, f);
  } catch (...) {
    // One that failed does not go back.
    rd_kafka_consumer_close(x.rk.get());
    throw;
  }
  give(std::move(x));
}

pooled_consumer consumer_pool::take() {
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

void consumer_pool::give(pooled_consumer x) {
  std::lock_guard<std::mutex> guard{mtx_};
  idle_.push_back(std::move(x));
}

driver_consumer::driver_consumer(const params& ps, duration timeout,
                                 const kafka_waits& waits)
  : rk_(make_consumer(ps)),
    timeout_(timeout_ms(timeout)),
    waits_(waits),
    has_group_(!value_of(ps, "group.id").empty()) {
  caf_stream::detail::logger("kafka")->debug(
    "the driver's consumer connects to {}", value_of(ps, "bootstrap.servers"));
}

driver_consumer::~driver_consumer() {
  rd_kafka_consumer_close(rk_.get());
}

template <class Pred>
std::vector<topic_partition>
driver_consumer::collect(const rd_kafka_metadata_t* md, Pred pred) {
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

std::vector<topic_partition>
driver_consumer::partitions_of(const std::string& topic) {
  auto md = topic_metadata(rk_.get(), topic, timeout_, waits_);
  return collect(md.get(), [&](const std::string& t) { return t == topic; });
}

std::vector<topic_partition>
driver_consumer::partitions_matching(const std::regex& re) {
  const rd_kafka_metadata_t* md = nullptr;
  std::string what = "cannot list the topics";
  auto err = waits_.request(timeout_, what, [&](int ms) {
    return rd_kafka_metadata(rk_.get(), 1, nullptr, &md, ms);
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    source_failure(what + ": " + rd_kafka_err2str(err));
  auto result = collect(md, [&](const std::string& t) {
    return t.compare(0, 2, "__") != 0 && std::regex_match(t, re);
  });
  rd_kafka_metadata_destroy(md);
  return result;
}

std::map<int32_t, std::string>
driver_consumer::leader_hosts(const std::string& topic) {
  auto md = topic_metadata(rk_.get(), topic, timeout_, waits_);
  std::map<int32_t, std::string> result;
  for (int i = 0; i < md->topic_cnt; ++i) {
    auto& t = md->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.topic != topic)
      continue;
    for (int j = 0; j < t.partition_cnt; ++j)
      for (int k = 0; k < md->broker_cnt; ++k)
        if (md->brokers[k].id == t.partitions[j].leader)
          result.emplace(t.partitions[j].id, md->brokers[k].host);
  }
  return result;
}

std::pair<int64_t, int64_t>
driver_consumer::watermarks(const topic_partition& tp) {
  int64_t low = 0;
  int64_t high = 0;
  auto what = "cannot get the offsets of " + name(tp);
  auto err = waits_.request(timeout_, what, [&](int ms) {
    return rd_kafka_query_watermark_offsets(rk_.get(), tp.topic.c_str(),
                                            tp.partition, &low, &high, ms);
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    source_failure(what + ": " + rd_kafka_err2str(err));
  return {low, high};
}

std::optional<int64_t> driver_consumer::committed(const topic_partition& tp) {
  if (!has_group_)
    return std::nullopt;
  list_ptr xs{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(xs.get(), tp.topic.c_str(), tp.partition);
  auto what = "cannot get the committed offset of " + name(tp);
  auto err = waits_.request(timeout_, what, [&](int ms) {
    return rd_kafka_committed(rk_.get(), xs.get(), ms);
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    source_failure(what + ": " + rd_kafka_err2str(err));
  auto offset = xs->elems[0].offset;
  if (offset < 0)
    return std::nullopt;
  return offset;
}

std::string driver_consumer::commit(const std::vector<offset_range>& ranges) {
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

void read_range(const params& executor_params, const offset_range& range,
                const direct_settings& settings,
                const std::function<void(raw_record&&)>& f) {
  kafka_waits waits;
  consumer_pool pool{executor_params, waits};
  pool.read(range, settings, f);
}

} // namespace caf_stream::kafka::detail
