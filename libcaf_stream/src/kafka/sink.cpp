#include "caf_stream/kafka/sink.hpp"

#include <librdkafka/rdkafka.h>

#include "caf_stream/error.hpp"

#include "client.hpp"

namespace caf_stream::kafka::detail {

namespace {

// What the delivery reports of one `write` found.
struct delivery {
  size_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* d = static_cast<delivery*>(msg->_private);
  if (d == nullptr || msg->err == RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  if (d->failed++ == 0)
    d->first_error = rd_kafka_err2str(msg->err);
}

} // namespace

struct topic_writer::impl {
  std::string topic;
  handle_ptr rk;
};

topic_writer::topic_writer(std::string topic, params kafka_params)
  : impl_(std::make_unique<impl>()) {
  impl_->topic = std::move(topic);
  if (kafka_params.count("enable.idempotence") == 0)
    kafka_params["enable.idempotence"] = "true";
  impl_->rk = make_client(RD_KAFKA_PRODUCER, kafka_params, "save_to_kafka",
                          [](rd_kafka_conf_t* conf) {
                            rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
                          });
}

topic_writer::~topic_writer() {
  rd_kafka_flush(impl_->rk.get(), 10000);
}

void topic_writer::write(const std::vector<record>& records) {
  delivery d;
  auto* rk = impl_->rk.get();
  auto fail = [&](const std::string& what) {
    throw stream_error(errc::sink_failure, "save_to_kafka into topic '"
                                             + impl_->topic + "': " + what);
  };
  for (const auto& [key, value] : records) {
    // librdkafka's macros cast their arguments: give them plain values.
    const char* key_data = key ? key->data() : nullptr;
    size_t key_size = key ? key->size() : 0;
    auto* value_data = const_cast<char*>(value.data());
    size_t value_size = value.size();
    for (;;) {
      auto err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(impl_->topic.c_str()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_data, key_size),
        RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // The queued ones still report to `d`: let them finish first.
        rd_kafka_flush(rk, 10000);
        fail(rd_kafka_err2str(err));
      }
      // The local queue is full: serve delivery reports until there is room.
      rd_kafka_poll(rk, 100);
    }
  }
  // Every delivery report of this batch comes before flush returns.
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Reports that did not come must not reach `d` once it is gone.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk, 10000);
    fail("Kafka did not acknowledge the batch's records within 60 s");
  }
  if (d.failed > 0)
    fail(std::to_string(d.failed) + " of " + std::to_string(records.size())
         + " records failed: " + d.first_error);
}

} // namespace caf_stream::kafka::detail
