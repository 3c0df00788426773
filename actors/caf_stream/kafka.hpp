#pragma once

/// Spark's direct Kafka stream (spark-streaming-kafka-0-10), with names in
/// snake_case: `kafka::create_direct_stream<K, V>(ssc,
/// kafka::prefer_consistent(), kafka::subscribe<K, V>(topics, params))`,
/// and `kafka::create_rdd<K, V>(ssc, params, ranges, where)`.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/kafka/direct_stream.hpp"
#include "caf_stream/kafka/sink.hpp"
#include "caf_stream/streaming_context.hpp"

namespace caf_stream::kafka {

namespace detail {

/// `create_direct_stream` with each partition's rates from `per_partition`
/// if set, else from the stream options.
template <class K, class V>
kafka_dstream<K, V>
make_direct_stream(streaming_context& ssc, location_strategy where,
                   consumer_strategy<K, V> strategy,
                   std::shared_ptr<const per_partition_config> per_partition) {
  if (!strategy.key() || !strategy.value())
    throw stream_error(errc::invalid_graph,
                       "create_direct_stream: no deserializer for the key or "
                       "value type; specialize kafka::deserializer<T> or "
                       "call key_deserializer / value_deserializer");
  auto& opts = ssc.options();
  direct_settings settings;
  settings.max_rate_per_partition = opts.kafka_max_rate_per_partition;
  settings.min_rate_per_partition = opts.kafka_min_rate_per_partition;
  settings.per_partition = std::move(per_partition);
  settings.backpressure = opts.backpressure_enabled;
  settings.initial_rate = opts.backpressure_initial_rate;
  settings.allow_non_consecutive_offsets
    = opts.kafka_allow_non_consecutive_offsets;
  settings.poll_timeout = opts.kafka_poll_timeout;
  auto& graph = ssc.graph();
  if (!graph->is_open())
    throw stream_error(errc::invalid_graph,
                       "create_direct_stream: adding new inputs, "
                       "transformations, and output operations after "
                       "starting a context is not supported");
  auto input = std::make_shared<direct_input>(strategy.settings(), settings,
                                              ssc.batch_interval());
  auto node = std::make_shared<direct_kafka_node<K, V>>(
    *graph, ssc.batch_interval(), input, std::move(where), strategy);
  graph->add_rate_controlled_input(node, node, node);
  return {graph, std::move(node), std::move(input)};
}

} // namespace detail

/// A stream of the records of Kafka partitions without a receiver: every
/// batch the driver fixes one offset range per partition (the records
/// since the last batch, capped by `stream.kafka.max-rate-per-partition`
/// and, with backpressure, by the rate controller's rate split over the
/// partitions by their lag),
/// and each range is one partition of the batch's RDD, read by its task.
/// The ranges go into the checkpoint: a batch that runs again after a
/// recovery reads exactly the same records. With worker nodes, the tasks
/// run where `where` prefers (`prefer_consistent`, `prefer_brokers`,
/// `prefer_fixed`) and read their ranges themselves. Throws `stream_error`
/// at the call for a bad librdkafka setting or a type without a
/// deserializer.
template <class K, class V>
kafka_dstream<K, V> create_direct_stream(streaming_context& ssc,
                                         location_strategy where,
                                         consumer_strategy<K, V> strategy) {
  return detail::make_direct_stream(ssc, std::move(where),
                                    std::move(strategy), nullptr);
}

/// As above, with each partition's maximum and minimum rates from
/// `config` in place of `stream.kafka.max-rate-per-partition` and
/// `stream.kafka.min-rate-per-partition` (Spark's `PerPartitionConfig`).
/// Throws `stream_error` (errc::invalid_config) at the call without one.
template <class K, class V>
kafka_dstream<K, V>
create_direct_stream(streaming_context& ssc, location_strategy where,
                     consumer_strategy<K, V> strategy,
                     std::shared_ptr<const per_partition_config> config) {
  if (!config)
    throw stream_error(errc::invalid_config,
                       "create_direct_stream: no per_partition_config (leave "
                       "it out for the stream options' rates)");
  return detail::make_direct_stream(ssc, std::move(where),
                                    std::move(strategy), std::move(config));
}

/// Spark's `KafkaUtils.createRDD`: an RDD of the records of `ranges`, one
/// partition per range in order, read by its task with a consumer of its
/// own, for work outside the streams (reprocessing the ranges a sink
/// stored, say). `kafka::offset_ranges` gives the ranges back. Its actions
/// run on the driver: it is in no stream's lineage. `where` is
/// `prefer_consistent` or `prefer_fixed`. Throws `stream_error` at the
/// call for `prefer_brokers` (as Spark, a single RDD has no driver consumer
/// to look up the leaders), a range that starts after it ends or before
/// offset 0, a bad librdkafka setting, or a type without a deserializer;
/// an action fails naming the offset for a range past its partition's end.
template <class K, class V>
rdd<consumer_record<K, V>>
create_rdd(streaming_context& ssc, params kafka_params,
           std::vector<offset_range> ranges, location_strategy where) {
  if (where.how == location_strategy::kind::prefer_brokers)
    throw stream_error(errc::invalid_graph,
                       "create_rdd: prefer_brokers needs a driver consumer "
                       "to look up the leaders, which a single Kafka RDD "
                       "does not have; name the hosts with prefer_fixed");
  for (const auto& r : ranges)
    if (r.from_offset < 0 || r.from_offset > r.until_offset)
      throw stream_error(errc::invalid_graph,
                         "create_rdd: " + to_string(r)
                           + " starts after it ends or before offset 0");
  auto strategy = assign<K, V>({}, std::move(kafka_params));
  if (!strategy.key() || !strategy.value())
    throw stream_error(errc::invalid_graph,
                       "create_rdd: no deserializer for the key or value "
                       "type; specialize kafka::deserializer<T>");
  auto consumer = strategy.settings();
  for (const auto& r : ranges)
    consumer.partitions.push_back(r.topic_partition());
  auto& opts = ssc.options();
  direct_settings settings;
  settings.allow_non_consecutive_offsets
    = opts.kafka_allow_non_consecutive_offsets;
  settings.poll_timeout = opts.kafka_poll_timeout;
  auto input = std::make_shared<detail::direct_input>(
    std::move(consumer), settings, ssc.batch_interval());
  auto hosts = detail::fixed_hosts(where, ranges);
  return rdd<consumer_record<K, V>>{
    std::make_shared<detail::kafka_rdd_node<K, V>>(
      std::move(ranges), std::move(input), strategy.key(), strategy.value(),
      std::move(hosts))}
    .with_context(ssc.graph()->context());
}

} // namespace caf_stream::kafka
