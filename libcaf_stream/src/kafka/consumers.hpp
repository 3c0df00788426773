#pragma once

// The librdkafka consumers of the direct stream: the driver's, which reads
// metadata, offsets and commits offsets, and the pool of the tasks', which
// read offset ranges (`direct_input.cpp` plans the ranges).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "caf_stream/detail/function_ref.hpp"
#include "caf_stream/kafka/direct_input.hpp"

#include "client.hpp"

namespace caf_stream::kafka::detail {

/// A consumer with the settings `ps`, whose log lines go to the "kafka"
/// logger; throws `stream_error` for a setting librdkafka refuses.
handle_ptr make_consumer(const params& ps);

/// The value of `key` in `ps`, empty if it is not set.
std::string value_of(const params& ps, const char* key);

/// "topic 'T' partition P", for messages.
std::string name(const topic_partition& tp);

/// Throws `stream_error` (`errc::source_failure`) saying "kafka: " `what`.
[[noreturn]] void source_failure(const std::string& what);

/// How the direct stream waits on librdkafka's blocking calls: in slices,
/// so that once the context stops (`interrupt`) a wait gives up after a
/// slice without an answer instead of waiting out
/// `stream.kafka.poll-timeout` (120 s by default) for brokers that do not
/// answer; calls that get their answers go on. Thread-safe.
class kafka_waits {
public:
  /// The first slice of a request, and each slice of a poll.
  static constexpr int first_slice_ms = 100;

  /// The longest slice of a request: one whose answer takes longer is asked
  /// again until the timeout passed.
  static constexpr int max_slice_ms = 2000;

  /// From now on every wait gives up.
  void interrupt() noexcept {
    interrupted_.store(true, std::memory_order_release);
  }

  bool interrupted() const noexcept {
    return interrupted_.load(std::memory_order_acquire);
  }

  /// Throws `stream_error` (errc::source_failure) saying "kafka: `what`:
  /// the streaming context stops" if interrupted.
  void check(const std::string& what) const;

  /// Calls `call(ms)`, a librdkafka request that waits at most `ms`
  /// milliseconds for its answer, until it returns anything but "no broker
  /// is up" or a timeout, or `timeout_ms` passed; each slice after a
  /// timeout is twice as long, up to `max_slice_ms`. Returns its last
  /// result; throws as `check` after a slice without an answer once
  /// interrupted.
  rd_kafka_resp_err_t
  request(int timeout_ms, const std::string& what,
          caf_stream::detail::function_ref<rd_kafka_resp_err_t(int)> call)
    const;

  /// `rd_kafka_consumer_poll(rk)` for at most `timeout_ms`, in slices of
  /// `first_slice_ms`; null if nothing came, or nothing in a slice once
  /// interrupted.
  rd_kafka_message_t* poll(rd_kafka_t* rk, int timeout_ms) const;

private:
  using clock = std::chrono::steady_clock;

  // The milliseconds of the next wait until `deadline`, `slice` at most,
  // and whether it is the last.
  static std::pair<int, bool> next_wait(clock::time_point deadline,
                                        int slice);

  std::atomic<bool> interrupted_{false};
};

/// A connected consumer of a pool, and the topics it has the metadata of.
struct pooled_consumer {
  handle_ptr rk;
  std::set<std::string> topics;
};

/// Connected consumers for the tasks of one stream: a task takes one, reads
/// its range and gives it back; one that failed is dropped.
class consumer_pool {
public:
  /// Its reads wait as `waits` says.
  consumer_pool(params ps, const kafka_waits& waits);

  ~consumer_pool();

  /// Connects a consumer now, so that a bad setting shows here rather than
  /// in the first task.
  void connect_one();

  /// Reads the records of `range` with a consumer of the pool, as
  /// `read_range` says.
  void read(const offset_range& range, const direct_settings& settings,
            const std::function<void(raw_record&&)>& f);

private:
  pooled_consumer take();

  void give(pooled_consumer x);

  params params_;
  const kafka_waits& waits_;
  std::mutex mtx_;
  std::vector<pooled_consumer> idle_;
};

/// The driver's consumer: it never reads records, only metadata, offsets and
/// commits.
class driver_consumer {
public:
  /// Its requests wait `timeout` at most, as `waits` says.
  driver_consumer(const params& ps, duration timeout,
                  const kafka_waits& waits);

  ~driver_consumer();

  std::vector<topic_partition> partitions_of(const std::string& topic);

  std::vector<topic_partition> partitions_matching(const std::regex& re);

  std::pair<int64_t, int64_t> watermarks(const topic_partition& tp);

  /// The host of the leader broker of each partition of `topic` that has
  /// one, by partition.
  std::map<int32_t, std::string> leader_hosts(const std::string& topic);

  std::optional<int64_t> committed(const topic_partition& tp);

  /// Returns the error text, empty on success.
  std::string commit(const std::vector<offset_range>& ranges);

private:
  template <class Pred>
  static std::vector<topic_partition> collect(const rd_kafka_metadata_t* md,
                                              Pred pred);

  handle_ptr rk_;
  int timeout_;
  const kafka_waits& waits_;
  bool has_group_;
};

} // namespace caf_stream::kafka::detail
