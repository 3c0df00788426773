#pragma once

// The librdkafka consumers of the direct stream: the driver's, which reads
// metadata, offsets and commits offsets, and the pool of the tasks', which
// read offset ranges (`direct_input.cpp` plans the ranges).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

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

/// A connected consumer of a pool, and the topics it has the metadata of.
struct pooled_consumer {
  handle_ptr rk;
  std::set<std::string> topics;
};

/// Connected consumers for the tasks of one stream: a task takes one, reads
/// its range and gives it back; one that failed is dropped.
class consumer_pool {
public:
  explicit consumer_pool(params ps);

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
  std::mutex mtx_;
  std::vector<pooled_consumer> idle_;
};

/// The driver's consumer: it never reads records, only metadata, offsets and
/// commits.
class driver_consumer {
public:
  driver_consumer(const params& ps, duration timeout);

  ~driver_consumer();

  std::vector<topic_partition> partitions_of(const std::string& topic);

  std::vector<topic_partition> partitions_matching(const std::regex& re);

  std::pair<int64_t, int64_t> watermarks(const topic_partition& tp);

  std::optional<int64_t> committed(const topic_partition& tp);

  /// Returns the error text, empty on success.
  std::string commit(const std::vector<offset_range>& ranges);

private:
  template <class Pred>
  static std::vector<topic_partition> collect(const rd_kafka_metadata_t* md,
                                              Pred pred);

  handle_ptr rk_;
  int timeout_;
  bool has_group_;
};

} // namespace caf_stream::kafka::detail
