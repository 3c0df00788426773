#include "caf_stream/flume/spark_sink_protocol.hpp"

#include <utility>

#include <openssl/evp.h>

namespace caf_stream::flume::detail {

// Spark's sparkflume.avdl (Spark 2.x) as JSON, the form Avro's handshake
// carries.
const char* const spark_flume_protocol
  = R"({"protocol":"SparkFlumeProtocol",)"
    R"("namespace":"org.apache.spark.streaming.flume.sink","types":[)"
    R"({"type":"record","name":"SparkSinkEvent","fields":[)"
    R"({"name":"headers","type":{"type":"map","values":"string"}},)"
    R"({"name":"body","type":"bytes"}]},)"
    R"({"type":"record","name":"EventBatch","fields":[)"
    R"({"name":"errorMsg","type":"string","default":""},)"
    R"({"name":"sequenceNumber","type":"string"},)"
    R"({"name":"events","type":{"type":"array","items":"SparkSinkEvent"}}]}],)"
    R"("messages":{)"
    R"("getEventBatch":{"request":[{"name":"n","type":"int"}],)"
    R"("response":"EventBatch"},)"
    R"("ack":{"request":[{"name":"sequenceNumber","type":"string"}],)"
    R"("response":"null"},)"
    R"("nack":{"request":[{"name":"sequenceNumber","type":"string"}],)"
    R"("response":"null"}}})";

namespace {

// Avro RPC names a protocol by the MD5 of its text.
std::string protocol_hash() {
  std::string text{spark_flume_protocol};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), md, &size, EVP_md5(), nullptr) != 1
      || size != md5_size)
    throw std::runtime_error("cannot compute the MD5 of SparkFlumeProtocol "
                             "(OpenSSL's EVP_md5)");
  return std::string{reinterpret_cast<const char*>(md), size};
}

} // namespace

spark_sink_requestor::spark_sink_requestor(size_t max_reply)
  : decoder_(max_reply, "reply", "flume::polling_settings::max_reply_size") {
  // nop
}

std::string spark_sink_requestor::begin_call(call what, const char* message) {
  std::string result;
  if (!handshake_sent_) {
    // HandshakeRequest: the client's hash and protocol, the server's hash
    // as this client expects it (the same), no metadata.
    static const std::string hash = protocol_hash();
    result += hash;
    result.push_back('\x02');
    put_bytes(result, spark_flume_protocol);
    result += hash;
    result.push_back('\0');
    handshake_sent_ = true;
  }
  // Empty call metadata, then the message's name.
  result.push_back('\0');
  put_bytes(result, message);
  pending_.emplace_back(serial_, what);
  return result;
}

void spark_sink_requestor::end_call(std::string& out, std::string request) {
  encode_pack(out, serial_++, {std::move(request)});
}

void spark_sink_requestor::get_event_batch(std::string& out, int32_t n) {
  auto request = begin_call(call::get_event_batch, "getEventBatch");
  put_long(request, n);
  end_call(out, std::move(request));
}

void spark_sink_requestor::ack(std::string& out,
                               const std::string& sequence_number) {
  auto request = begin_call(call::ack, "ack");
  put_bytes(request, sequence_number);
  end_call(out, std::move(request));
}

void spark_sink_requestor::nack(std::string& out,
                                const std::string& sequence_number) {
  auto request = begin_call(call::nack, "nack");
  put_bytes(request, sequence_number);
  end_call(out, std::move(request));
}

void spark_sink_requestor::feed(const char* data, size_t size,
                                std::vector<std::optional<event_batch>>& out) {
  packs_.clear();
  decoder_.feed(data, size, packs_);
  for (const auto& pack : packs_) {
    if (pending_.empty() || pack.serial != pending_.front().first)
      throw protocol_error("a reply with serial " + std::to_string(pack.serial)
                           + ", which no call awaits");
    auto what = pending_.front().second;
    pending_.pop_front();
    std::string joined;
    avro_reader in{bytes_of(pack, joined)};
    if (!handshake_read_) {
      read_handshake_reply(in, "SparkFlumeProtocol");
      handshake_read_ = true;
    }
    read_call_outcome(in);
    if (what == call::get_event_batch) {
      event_batch batch;
      batch.error_msg = std::string{in.read_bytes("the batch's errorMsg")};
      batch.sequence_number
        = std::string{in.read_bytes("the batch's sequenceNumber")};
      // An event takes two bytes at least: no headers, an empty body.
      in.read_blocks(2, "the batch's events", [&] {
        batch.events.push_back(in.read_event("a SparkSinkEvent"));
      });
      out.emplace_back(std::move(batch));
    } else {
      out.emplace_back(std::nullopt);
    }
    if (in.remaining() != 0)
      throw protocol_error("a reply with bytes after its last value ("
                           + std::to_string(in.remaining()) + ")");
  }
}

} // namespace caf_stream::flume::detail
