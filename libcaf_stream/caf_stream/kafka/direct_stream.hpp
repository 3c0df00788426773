#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/dstream.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/kafka/direct_input.hpp"
#include "caf_stream/kafka/types.hpp"
#include "caf_stream/rdd/rdd.hpp"

namespace caf_stream::kafka {

/// Where the tasks that read Kafka run (Spark's `LocationStrategy`), with
/// worker nodes: a preference, not a rule. A task goes to a node on its
/// preferred host if one is in the cluster, else wherever a stage's tasks
/// go (`prefer_consistent`); a preferred node that fails passes its tasks
/// on as any node does.
struct location_strategy {
  enum class kind { prefer_consistent, prefer_brokers, prefer_fixed };
  kind how = kind::prefer_consistent;
  /// `prefer_fixed`: the preferred host ("host", every node on it) or node
  /// ("host:port") of each partition that has one.
  std::map<topic_partition, std::string> hosts;
};

/// Spread the partitions evenly over the workers (Spark's
/// `PreferConsistent`): as any stage's tasks, over the nodes' task slots.
inline location_strategy prefer_consistent() {
  return {};
}

/// Read each partition on a node on the host of its leader broker (Spark's
/// `PreferBrokers`: only where the nodes run on the brokers' hosts). The
/// driver asks for the leaders every batch; a partition without a leader,
/// or a batch whose metadata request fails, prefers no host. Hosts compare
/// as written: a broker that advertises a name and a node listed by its
/// address do not match.
inline location_strategy prefer_brokers() {
  location_strategy result;
  result.how = location_strategy::kind::prefer_brokers;
  return result;
}

/// Read the partitions of `host_map` on the hosts (or "host:port" nodes)
/// it names, the others as `prefer_consistent` (Spark's `PreferFixed`), to
/// place an uneven load by hand. Throws `stream_error`
/// (errc::invalid_config) for a partition that names no host.
inline location_strategy
prefer_fixed(std::map<topic_partition, std::string> host_map) {
  for (const auto& [tp, host] : host_map)
    if (host.empty())
      throw stream_error(errc::invalid_config,
                         "prefer_fixed: partition "
                           + std::to_string(tp.partition) + " of topic '"
                           + tp.topic + "' names no host");
  location_strategy result;
  result.how = location_strategy::kind::prefer_fixed;
  result.hosts = std::move(host_map);
  return result;
}

namespace detail {

template <class T, class = void>
struct has_deserializer : std::false_type {};

template <class T>
struct has_deserializer<
  T, std::void_t<decltype(deserializer<T>::deserialize(
       std::declval<const std::optional<std::string>&>()))>>
  : std::true_type {};

template <class T>
std::function<T(const std::optional<std::string>&)> default_deserializer() {
  if constexpr (has_deserializer<T>::value)
    return [](const std::optional<std::string>& x) {
      return deserializer<T>::deserialize(x);
    };
  else
    return nullptr;
}

} // namespace detail

/// What a direct stream reads and how it turns bytes into keys and values
/// (Spark's `ConsumerStrategy[K, V]`). Made by `subscribe`,
/// `subscribe_pattern` or `assign`.
template <class K, class V>
class consumer_strategy {
public:
  using key_function = std::function<K(const std::optional<std::string>&)>;
  using value_function = std::function<V(const std::optional<std::string>&)>;

  explicit consumer_strategy(consumer_settings settings)
    : settings_(std::move(settings)),
      key_(detail::default_deserializer<K>()),
      value_(detail::default_deserializer<V>()) {
    // nop
  }

  /// Turns a key's bytes (none for a null key) into a `K`.
  consumer_strategy& key_deserializer(key_function f) {
    key_ = std::move(f);
    return *this;
  }

  /// Turns a value's bytes (none for a null value) into a `V`.
  consumer_strategy& value_deserializer(value_function f) {
    value_ = std::move(f);
    return *this;
  }

  const consumer_settings& settings() const noexcept {
    return settings_;
  }

  const key_function& key() const noexcept {
    return key_;
  }

  const value_function& value() const noexcept {
    return value_;
  }

private:
  consumer_settings settings_;
  key_function key_;
  value_function value_;
};

namespace detail {

/// Settings of `kind` with the parameters and starting offsets every
/// strategy has.
inline consumer_settings
strategy_settings(consumer_settings::kind how, params kafka_params,
                  std::map<topic_partition, int64_t> offsets) {
  consumer_settings s;
  s.how = how;
  s.kafka_params = std::move(kafka_params);
  s.offsets = std::move(offsets);
  return s;
}

} // namespace detail

/// Reads all partitions of `topics`, also ones added later (Spark's
/// `Subscribe`); `offsets` overrides where some start.
template <class K, class V>
consumer_strategy<K, V>
subscribe(std::vector<std::string> topics, params kafka_params,
          std::map<topic_partition, int64_t> offsets = {}) {
  auto s = detail::strategy_settings(consumer_settings::kind::subscribe,
                                     std::move(kafka_params),
                                     std::move(offsets));
  s.topics = std::move(topics);
  return consumer_strategy<K, V>{std::move(s)};
}

/// Reads all partitions of the topics whose whole name matches `regex`
/// (Spark's `SubscribePattern`), looked up again every batch.
template <class K, class V>
consumer_strategy<K, V>
subscribe_pattern(std::string regex, params kafka_params,
                  std::map<topic_partition, int64_t> offsets = {}) {
  auto s = detail::strategy_settings(
    consumer_settings::kind::subscribe_pattern, std::move(kafka_params),
    std::move(offsets));
  s.pattern = std::move(regex);
  return consumer_strategy<K, V>{std::move(s)};
}

/// Reads exactly `partitions` (Spark's `Assign`), e.g. starting from
/// offsets a database sink stored with its rows.
template <class K, class V>
consumer_strategy<K, V>
assign(std::vector<topic_partition> partitions, params kafka_params,
       std::map<topic_partition, int64_t> offsets = {}) {
  auto s = detail::strategy_settings(consumer_settings::kind::assign,
                                     std::move(kafka_params),
                                     std::move(offsets));
  s.partitions = std::move(partitions);
  return consumer_strategy<K, V>{std::move(s)};
}

namespace detail {

/// The host (or node) that `where` names for each range's partition in
/// order, empty for none: `prefer_fixed`'s map; nothing for the other
/// strategies.
inline std::vector<std::string>
fixed_hosts(const location_strategy& where,
            const std::vector<offset_range>& ranges) {
  std::vector<std::string> result;
  if (where.how != location_strategy::kind::prefer_fixed)
    return result;
  for (const auto& r : ranges) {
    auto i = where.hosts.find(topic_partition{r.topic, r.partition});
    result.push_back(i != where.hosts.end() ? i->second : std::string{});
  }
  return result;
}

/// Spark's KafkaRDD: one partition per offset range, read by its task. On
/// the driver, `hosts` holds the host (or node) each partition's task
/// prefers (`location_strategy`; empty: none, as for every partition
/// without). On a worker node, the partitions whose ranges its stage did
/// not bring are `missing`: their tasks run elsewhere.
template <class K, class V>
class kafka_rdd_node final
  : public caf_stream::detail::rdd_node<consumer_record<K, V>> {
public:
  using record = consumer_record<K, V>;
  using sink = typename caf_stream::detail::rdd_node<record>::sink;

  kafka_rdd_node(std::vector<offset_range> ranges,
                 std::shared_ptr<direct_input> input,
                 typename consumer_strategy<K, V>::key_function key,
                 typename consumer_strategy<K, V>::value_function value,
                 std::vector<std::string> hosts,
                 std::vector<bool> missing = {})
    : ranges_(std::move(ranges)),
      input_(std::move(input)),
      key_(std::move(key)),
      value_(std::move(value)),
      hosts_(std::move(hosts)),
      missing_(std::move(missing)) {
    // nop
  }

  const char* kind() const noexcept override {
    return "KafkaRDD";
  }

  size_t num_partitions() const override {
    return ranges_.size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index, sink out) const override {
    if (index < missing_.size() && missing_[index])
      throw stream_error(errc::invalid_graph,
                         "partition " + std::to_string(index)
                           + " of the batch's Kafka ranges did not come to "
                             "this node");
    input_->read(ranges_[index], [&](raw_record&& r) {
      out(record{std::move(r.topic), r.partition, r.offset, r.timestamp,
                 key_(r.key), value_(r.value), std::move(r.headers)});
    });
  }

  std::vector<std::string> locations(size_t index) const override {
    if (index < hosts_.size() && !hosts_[index].empty())
      return {hosts_[index]};
    return {};
  }

  const std::vector<offset_range>& ranges() const noexcept {
    return ranges_;
  }

private:
  std::vector<offset_range> ranges_;
  std::shared_ptr<direct_input> input_;
  typename consumer_strategy<K, V>::key_function key_;
  typename consumer_strategy<K, V>::value_function value_;
  std::vector<std::string> hosts_;
  std::vector<bool> missing_;
};

/// Spark's DirectKafkaInputDStream: no receiver; each batch's RDD reads the
/// ranges the driver fixed when the batch was cut.
template <class K, class V>
class direct_kafka_node final
  : public caf_stream::detail::generated_input_node<consumer_record<K, V>>,
    public caf_stream::detail::rate_controlled_input {
public:
  using record = consumer_record<K, V>;
  using rdd_node_type = kafka_rdd_node<K, V>;

  direct_kafka_node(caf_stream::detail::dstream_graph& graph, duration slide,
                    std::shared_ptr<direct_input> input,
                    location_strategy where,
                    const consumer_strategy<K, V>& strategy)
    : caf_stream::detail::generated_input_node<record>(graph, slide),
      input_index_(graph.num_inputs()),
      stream_id_(graph.next_stream_id()),
      input_(std::move(input)),
      where_(std::move(where)),
      key_(strategy.key()),
      value_(strategy.value()) {
    // nop
  }

  // A batch's ranges travel to worker nodes, not its records: a node's
  // tasks read their ranges from Kafka themselves, as Spark's executors do.
  bool portable() const noexcept override {
    return true;
  }

  caf_stream::generated_input generate(time t) override {
    auto result = caf_stream::detail::generated_input_node<record>::generate(t);
    result.encode = [](const void* p, const std::vector<bool>* wanted) {
      const auto& x = *static_cast<const rdd<record>*>(p);
      const auto& ranges = static_cast<const rdd_node_type&>(*x.node())
                             .ranges();
      std::vector<std::string> parts(ranges.size());
      for (size_t i = 0; i < ranges.size(); ++i)
        if (wanted == nullptr || (i < wanted->size() && (*wanted)[i]))
          parts[i] = caf_stream::detail::to_bytes(
            std::vector<offset_range>{ranges[i]});
      return parts;
    };
    return result;
  }

  // On the driver, the RDD it generated; on a worker node, an RDD of the
  // ranges that came (an empty string is a partition left out). A batch's
  // ranges never change, so a batch bound again keeps its first RDD.
  void bind_generated(time t, caf_stream::generated_input x) override {
    if (x.data) {
      this->restore_fixed(t, *static_cast<const rdd<record>*>(x.data.get()));
      return;
    }
    std::vector<offset_range> ranges(x.partitions.size());
    std::vector<bool> missing(x.partitions.size(), false);
    for (size_t i = 0; i < x.partitions.size(); ++i) {
      if (x.partitions[i].empty()) {
        missing[i] = true;
        continue;
      }
      std::vector<offset_range> one;
      caf_stream::detail::from_bytes(x.partitions[i], one);
      if (one.size() != 1)
        throw stream_error(errc::invalid_graph,
                           "partition " + std::to_string(i)
                             + " of a batch's Kafka ranges is malformed");
      ranges[i] = std::move(one.front());
    }
    this->restore_fixed(t, rdd<record>{std::make_shared<rdd_node_type>(
                             std::move(ranges), input_, key_, value_,
                             std::vector<std::string>{},
                             std::move(missing))});
  }

  const char* name() const noexcept override {
    return "direct_kafka_stream";
  }

  std::string checkpoint_positions(time) override {
    return input_->checkpoint_positions();
  }

  // A restored batch prefers no broker: its leaders may have moved since,
  // and asking for them would wait on Kafka during the recovery.
  void restore_positions(const std::string& bytes) override {
    for (auto& [t, ranges] : input_->restore_positions(bytes))
      this->restore_fixed(t, make_rdd(std::move(ranges), false));
    for (auto& [t, ranges] : input_->restore_ranges_file(ranges_file()))
      this->restore_fixed(t, make_rdd(std::move(ranges), false));
  }

  void stop() override {
    input_->commit_queued();
  }

  void interrupt() noexcept override {
    input_->interrupt();
  }

  int32_t stream_id() const noexcept override {
    return stream_id_;
  }

  void update_rate(double records_per_second) override {
    input_->update_rate(records_per_second);
  }

  int64_t records_of(time t) override {
    int64_t result = 0;
    for (auto& r : input_->ranges_of(t))
      result += r.count();
    return result;
  }

protected:
  std::pair<rdd<record>, int64_t> next(time t) override {
    auto ranges = input_->next_ranges(t, ranges_file());
    input_->forget_before(t - this->remember_duration());
    int64_t records = 0;
    for (auto& r : ranges)
      records += r.count();
    return {make_rdd(std::move(ranges), true), records};
  }

private:
  // In the checkpoint directory, if there is one; named after the input's
  // index, which every run of the program gives it alike.
  std::string ranges_file() const {
    auto& dir = this->graph().checkpoint_directory();
    if (dir.empty())
      return {};
    return dir + "/kafka-" + std::to_string(input_index_) + "-ranges";
  }

  // The RDD of `ranges`, with the hosts its tasks prefer; with
  // `ask_leaders`, the leaders' for `prefer_brokers`.
  rdd<record> make_rdd(std::vector<offset_range> ranges,
                       bool ask_leaders) const {
    auto hosts = fixed_hosts(where_, ranges);
    if (where_.how == location_strategy::kind::prefer_brokers && ask_leaders)
      hosts = input_->leader_hosts(ranges);
    return rdd<record>{std::make_shared<rdd_node_type>(
      std::move(ranges), input_, key_, value_, std::move(hosts))};
  }

  size_t input_index_;
  int32_t stream_id_;
  std::shared_ptr<direct_input> input_;
  location_strategy where_;
  typename consumer_strategy<K, V>::key_function key_;
  typename consumer_strategy<K, V>::value_function value_;
};

} // namespace detail

/// Commits offsets of a direct stream to its consumer group; a small handle
/// to capture in the stream's own `foreach_rdd` (a captured stream would
/// keep its graph alive).
class offset_committer {
public:
  explicit offset_committer(std::shared_ptr<detail::direct_input> input)
    : input_(std::move(input)) {
    // nop
  }

  /// See `kafka_dstream::commit_async`.
  void commit_async(std::vector<offset_range> ranges,
                    std::function<void(const std::string&)> callback
                    = nullptr) const {
    input_->commit_async(std::move(ranges), std::move(callback));
  }

private:
  std::shared_ptr<detail::direct_input> input_;
};

/// A direct Kafka stream: a `dstream` of `consumer_record<K, V>` that can
/// commit offsets to the consumer group (Spark's `CanCommitOffsets`).
template <class K, class V>
class kafka_dstream : public dstream<consumer_record<K, V>> {
public:
  kafka_dstream(std::shared_ptr<caf_stream::detail::dstream_graph> graph,
                std::shared_ptr<detail::direct_kafka_node<K, V>> node,
                std::shared_ptr<detail::direct_input> input)
    : dstream<consumer_record<K, V>>(std::move(graph), std::move(node)),
      input_(std::move(input)) {
    // nop
  }

  /// Queues the until offsets of `ranges` for the group (`group.id`); they
  /// are committed at the start of the next batch, or when the context
  /// stops. `callback(error)` hears of the outcome (empty: committed).
  void commit_async(std::vector<offset_range> ranges,
                    std::function<void(const std::string&)> callback
                    = nullptr) const {
    input_->commit_async(std::move(ranges), std::move(callback));
  }

  /// The offset ranges of each batch, for a database sink to store with its
  /// rows (`sinks::table_options::kafka_offsets`).
  std::function<std::vector<offset_range>(time)> batch_offsets() const {
    return [input = input_](time t) { return input->ranges_of(t); };
  }

  /// A handle that commits for this stream, to capture in its `foreach_rdd`.
  offset_committer committer() const {
    return offset_committer{input_};
  }

private:
  std::shared_ptr<detail::direct_input> input_;
};

/// The offset ranges of an RDD of a direct stream (Spark's
/// `HasOffsetRanges`), in partition order. Call it on the stream's own
/// RDDs (in `foreach_rdd` or `transform`), before any transformation;
/// throws `stream_error` (errc::invalid_graph) on any other RDD.
template <class K, class V>
std::vector<offset_range> offset_ranges(const rdd<consumer_record<K, V>>& x) {
  auto* node = dynamic_cast<const detail::kafka_rdd_node<K, V>*>(
    x.node().get());
  if (node == nullptr)
    throw stream_error(errc::invalid_graph,
                       "offset_ranges: the RDD is not a direct Kafka "
                       "stream's own RDD (take the ranges before any "
                       "transformation, as Spark's HasOffsetRanges)");
  return node->ranges();
}

} // namespace caf_stream::kafka
