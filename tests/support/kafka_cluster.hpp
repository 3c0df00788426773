#pragma once

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace support {

/// librdkafka's mock Kafka cluster, in this process, with a producer that
/// writes into it; gone with this object.
class kafka_cluster {
public:
  explicit kafka_cluster(int brokers = 1) {
    char errstr[512];
    auto* conf = rd_kafka_conf_new();
    // This handle only hosts the cluster; the producer below writes.
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (owner_ == nullptr)
      throw std::runtime_error(errstr);
    mock_ = rd_kafka_mock_cluster_new(owner_, brokers);
    if (mock_ == nullptr)
      throw std::runtime_error("cannot start the mock Kafka cluster");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(mock_);
    auto* pconf = rd_kafka_conf_new();
    set(pconf, "bootstrap.servers", bootstraps_);
    set(pconf, "linger.ms", "0");
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof(errstr));
    if (producer_ == nullptr)
      throw std::runtime_error(errstr);
  }

  ~kafka_cluster() {
    rd_kafka_destroy(producer_);
    rd_kafka_mock_cluster_destroy(mock_);
    rd_kafka_destroy(owner_);
  }

  kafka_cluster(const kafka_cluster&) = delete;

  kafka_cluster& operator=(const kafka_cluster&) = delete;

  /// `bootstrap.servers` for clients.
  const std::string& bootstraps() const noexcept {
    return bootstraps_;
  }

  rd_kafka_mock_cluster_t* mock() const noexcept {
    return mock_;
  }

  void create_topic(const std::string& topic, int partitions) {
    if (rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, 1)
        != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("cannot create topic " + topic);
  }

  /// Writes one record and waits until the cluster has it.
  void produce(const std::string& topic, int32_t partition,
               const std::string& key, const std::string& value) {
    auto err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_HEADER("h", "v", 1), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(rd_kafka_err2str(err));
    if (rd_kafka_flush(producer_, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("the mock cluster took no record");
  }

  /// Queues one record without a key (`flush` waits for all of them).
  void produce_async(const std::string& topic, int32_t partition,
                     const std::string& value) {
    for (;;) {
      auto err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        throw std::runtime_error(rd_kafka_err2str(err));
      rd_kafka_poll(producer_, 100);
    }
  }

  void flush() {
    if (rd_kafka_flush(producer_, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("the mock cluster took not all records");
  }

  /// Commits `offset` for the partition as `group` (as a consumer of the
  /// group that read up to there would have).
  void commit(const std::string& group, const std::string& topic,
              int32_t partition, int64_t offset) {
    with_partition_of(group, topic, partition,
                      [&](rd_kafka_t* rk, rd_kafka_topic_partition_list_t* xs) {
                        xs->elems[0].offset = offset;
                        return rd_kafka_commit(rk, xs, 0);
                      });
  }

  /// The offset `group` committed for the partition, if any.
  std::optional<int64_t> committed(const std::string& group,
                                   const std::string& topic,
                                   int32_t partition) {
    int64_t offset = -1;
    with_partition_of(group, topic, partition,
                      [&](rd_kafka_t* rk, rd_kafka_topic_partition_list_t* xs) {
                        auto err = rd_kafka_committed(rk, xs, 30000);
                        offset = xs->elems[0].offset;
                        return err;
                      });
    if (offset < 0)
      return std::nullopt;
    return offset;
  }

private:
  // Calls `f(consumer, partitions)` with a consumer of `group` and a list
  // holding the partition; throws what librdkafka reports.
  template <class F>
  void with_partition_of(const std::string& group, const std::string& topic,
                         int32_t partition, F f) {
    char errstr[512];
    auto* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstraps_);
    set(conf, "group.id", group);
    auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == nullptr)
      throw std::runtime_error(errstr);
    auto* xs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(xs, topic.c_str(), partition);
    auto err = f(rk, xs);
    rd_kafka_topic_partition_list_destroy(xs);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(rd_kafka_err2str(err));
  }

  static void set(rd_kafka_conf_t* conf, const char* key,
                  const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value.c_str(), errstr, sizeof(errstr))
        != RD_KAFKA_CONF_OK)
      throw std::runtime_error(errstr);
  }

  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstraps_;
};

} // namespace support
