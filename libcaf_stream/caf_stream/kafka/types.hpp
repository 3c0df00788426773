#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace caf_stream::kafka {

/// librdkafka's settings (`bootstrap.servers`, `group.id`,
/// `auto.offset.reset`, ...), as Spark's `kafkaParams`.
using params = std::map<std::string, std::string>;

/// A partition of a topic (Kafka's `TopicPartition`).
struct topic_partition {
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const topic_partition& x, const topic_partition& y) {
    return x.topic == y.topic && x.partition == y.partition;
  }

  friend bool operator<(const topic_partition& x, const topic_partition& y) {
    return std::tie(x.topic, x.partition) < std::tie(y.topic, y.partition);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& topic& partition;
  }
};

/// The offsets `[from_offset, until_offset)` of one partition that one
/// batch reads (Spark's `OffsetRange`): one RDD partition each.
struct offset_range {
  std::string topic;
  int32_t partition = 0;
  int64_t from_offset = 0;
  int64_t until_offset = 0;

  /// The number of offsets in the range (records, unless the topic has gaps).
  int64_t count() const noexcept {
    return until_offset - from_offset;
  }

  kafka::topic_partition topic_partition() const {
    return {topic, partition};
  }

  friend bool operator==(const offset_range& x, const offset_range& y) {
    return std::tie(x.topic, x.partition, x.from_offset, x.until_offset)
           == std::tie(y.topic, y.partition, y.from_offset, y.until_offset);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& topic& partition& from_offset& until_offset;
  }
};

/// Spark's text form: "OffsetRange(topic: 't', partition: 0, range: [1 -> 5])".
std::string to_string(const offset_range& x);

/// A record as Kafka holds it, before its key and value are deserialized.
struct raw_record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  /// Milliseconds since the epoch; -1 if the record has none.
  int64_t timestamp = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

/// A record of a direct stream (Kafka's `ConsumerRecord<K, V>`).
template <class K, class V>
struct consumer_record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = -1;
  K key;
  V value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;

  friend bool operator==(const consumer_record& x, const consumer_record& y) {
    return std::tie(x.topic, x.partition, x.offset, x.timestamp, x.key,
                    x.value, x.headers)
           == std::tie(y.topic, y.partition, y.offset, y.timestamp, y.key,
                       y.value, y.headers);
  }
};

/// Turns a key's or value's bytes (none for Kafka's null) into a `T`:
/// specialized for `std::string` (null as ""), `std::vector<uint8_t>` and
/// `std::optional` of them (null as none). Specialize it for your types, or
/// give the consumer strategy a function.
template <class T>
struct deserializer;

template <>
struct deserializer<std::string> {
  static std::string deserialize(const std::optional<std::string>& x) {
    return x.value_or(std::string{});
  }
};

template <>
struct deserializer<std::vector<uint8_t>> {
  static std::vector<uint8_t>
  deserialize(const std::optional<std::string>& x) {
    if (!x)
      return {};
    return {x->begin(), x->end()};
  }
};

template <class T>
struct deserializer<std::optional<T>> {
  static std::optional<T> deserialize(const std::optional<std::string>& x) {
    if (!x)
      return std::nullopt;
    return deserializer<T>::deserialize(x);
  }
};

} // namespace caf_stream::kafka
