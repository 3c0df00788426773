#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/dstream.hpp"
#include "caf_stream/kafka/types.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream::kafka {

namespace detail {

/// A producer that writes whole batches to one topic: idempotent, flushed
/// before the batch completes.
class topic_writer {
public:
  /// A record's key (none for Kafka's null) and value.
  using record = std::pair<std::optional<std::string>, std::string>;

  /// Creates the producer; throws `stream_error` (errc::invalid_config)
  /// with librdkafka's message on a bad setting.
  topic_writer(std::string topic, params kafka_params);

  ~topic_writer();

  topic_writer(const topic_writer&) = delete;

  topic_writer& operator=(const topic_writer&) = delete;

  /// Sends `records` and waits until Kafka acknowledged all of them; throws
  /// `stream_error` (errc::sink_failure) naming the topic, how many failed
  /// and the first error.
  void write(const std::vector<record>& records);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

template <class T>
std::optional<std::string> as_key(const T& x) {
  if constexpr (std::is_convertible_v<T, std::optional<std::string>>)
    return x;
  else
    return to_text(x);
}

} // namespace detail

/// Writes every record of `stream` to `topic`, the value `to_text(x)` and
/// no key. librdkafka's producer runs with `enable.idempotence=true`, so
/// its retries write nothing twice; each batch completes only once Kafka
/// acknowledged all its records (a failure fails the batch). A batch that
/// runs again after a recovery is written again (at least once, as with
/// any Kafka producer outside a transaction).
template <class T>
void save_to_kafka(const dstream<T>& stream, std::string topic,
                   params kafka_params);

/// Like above, with the key `key_fn(x)` and the value `value_fn(x)`
/// (`std::string`, `std::optional<std::string>` for a null key, or anything
/// `to_text` renders).
template <class T, class KeyFn, class ValueFn>
void save_to_kafka(const dstream<T>& stream, std::string topic,
                   params kafka_params, KeyFn key_fn, ValueFn value_fn) {
  static_assert(std::is_invocable_v<KeyFn, const T&>
                  && std::is_invocable_v<ValueFn, const T&>,
                "save_to_kafka expects key_fn(const T&) and "
                "value_fn(const T&), each returning a std::string, a "
                "std::optional<std::string> (key) or a value to_text renders");
  auto writer = std::make_shared<detail::topic_writer>(std::move(topic),
                                                       std::move(kafka_params));
  stream.foreach_rdd([writer, key_fn, value_fn](const rdd<T>& x) {
    std::vector<detail::topic_writer::record> records;
    for (const auto& r : x.collect()) {
      auto v = value_fn(r);
      if constexpr (std::is_convertible_v<decltype(v), std::string>)
        records.emplace_back(detail::as_key(key_fn(r)), std::string{v});
      else
        records.emplace_back(detail::as_key(key_fn(r)), to_text(v));
    }
    writer->write(records);
  });
}

template <class T>
void save_to_kafka(const dstream<T>& stream, std::string topic,
                   params kafka_params) {
  save_to_kafka(
    stream, std::move(topic), std::move(kafka_params),
    [](const T&) { return std::optional<std::string>{}; },
    [](const T& x) { return to_text(x); });
}

} // namespace caf_stream::kafka
