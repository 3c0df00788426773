#include "caf_stream/flume/spark_sink_protocol.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
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
  // The replies before malformed framing are taken first.
  auto framing_error = feed_packs(decoder_, data, size, packs_);
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
    expect_end(in, "reply");
  }
  if (framing_error)
    std::rethrow_exception(framing_error);
}

sink_call spark_sink_responder::read(const netty_pack& pack) {
  std::string joined;
  avro_reader in{bytes_of(pack, joined)};
  ping_ = false;
  auto name = handshake_.read_call(in);
  sink_call result;
  if (name.empty()) {
    ping_ = true;
  } else if (name == "getEventBatch") {
    result.what = sink_call::kind::get_event_batch;
    auto n = in.read_long("getEventBatch's n");
    if (n < INT32_MIN || n > INT32_MAX)
      throw protocol_error("getEventBatch's n " + std::to_string(n)
                           + " is no int");
    result.n = static_cast<int32_t>(n);
  } else if (name == "ack" || name == "nack") {
    result.what = name == "ack" ? sink_call::kind::ack : sink_call::kind::nack;
    result.sequence_number = std::string{in.read_bytes("the sequenceNumber")};
  } else {
    throw protocol_error("a call of '" + std::string{name}
                         + "', which SparkFlumeProtocol does not have (it has "
                           "getEventBatch, ack and nack)");
  }
  expect_end(in, "request");
  return result;
}

std::vector<std::string>
spark_sink_responder::reply(const event_batch& batch) const {
  auto frames = handshake_.reply_frames();
  // Empty metadata, no error, then the EventBatch.
  std::string body(2, '\0');
  put_bytes(body, batch.error_msg);
  put_bytes(body, batch.sequence_number);
  put_events(body, batch.events);
  frames.push_back(std::move(body));
  return frames;
}

std::vector<std::string> spark_sink_responder::reply() const {
  auto frames = handshake_.reply_frames();
  // A ping is answered with the handshake alone; an ack or nack with empty
  // metadata, no error and null (no bytes).
  if (!ping_)
    frames.emplace_back(2, '\0');
  return frames;
}

event_batch sink_transactions::take(int32_t n, const source& next) {
  event_batch batch;
  batch.sequence_number = "seq-" + std::to_string(++batches_);
  auto max = static_cast<size_t>(std::max(n, 1));
  while (batch.events.size() < max && !returned_.empty()) {
    batch.events.push_back(std::move(returned_.front()));
    returned_.pop_front();
  }
  event e;
  while (batch.events.size() < max && next(e))
    batch.events.push_back(std::move(e));
  open_[batch.sequence_number] = batch.events;
  return batch;
}

void sink_transactions::settle(const sink_call& call) {
  auto i = open_.find(call.sequence_number);
  if (i == open_.end())
    return;
  if (call.what == sink_call::kind::ack)
    acked_ += i->second.size();
  else
    returned_.insert(returned_.end(), i->second.begin(), i->second.end());
  open_.erase(i);
}

void sink_transactions::roll_back() {
  for (auto& [seq, events] : open_)
    returned_.insert(returned_.end(), events.begin(), events.end());
  open_.clear();
}

} // namespace caf_stream::flume::detail
