#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "caf_stream/flume/spark_sink_protocol.hpp"

namespace bench {

/// A Spark Sink stand-in for the benchmarks: on the first connection to
/// `listener`, serves SparkFlumeProtocol over `text`, a line per event, in
/// transactions (`sink_transactions`). Once every line is out, a
/// getEventBatch waits, as the sink holds it until events come, until the
/// client closes the connection.
class spark_sink_peer {
public:
  spark_sink_peer(int listener, const std::vector<std::string>& text)
    : listener_(listener), text_(text) {
    // nop
  }

  ~spark_sink_peer() {
    if (thread_.joinable())
      thread_.join();
  }

  void start() {
    thread_ = std::thread{[this] { serve(); }};
  }

private:
  void serve() {
    namespace fd = caf_stream::flume::detail;
    int conn = ::accept(listener_, nullptr, nullptr);
    fd::netty_decoder decoder{1024 * 1024};
    fd::spark_sink_responder responder;
    std::vector<fd::netty_pack> packs;
    // A getEventBatch held for want of events: its serial and n.
    int32_t held = -1;
    int32_t held_n = 0;
    auto more = [this] { return next_ < text_.size(); };
    auto next = [this](caf_stream::flume::event& e) {
      if (next_ == text_.size())
        return false;
      e = caf_stream::flume::event{{}, text_[next_++]};
      return true;
    };
    std::vector<char> buf(64 * 1024);
    std::string replies;
    for (;;) {
      auto n = ::recv(conn, buf.data(), buf.size(), 0);
      if (n <= 0)
        break;
      packs.clear();
      replies.clear();
      try {
        decoder.feed(buf.data(), static_cast<size_t>(n), packs);
        for (const auto& pack : packs) {
          auto call = responder.read(pack);
          if (call.what == fd::sink_call::kind::get_event_batch) {
            held = pack.serial;
            held_n = call.n;
          } else {
            tx_.settle(call);
            fd::encode_pack(replies, pack.serial, responder.reply());
          }
          if (held >= 0 && tx_.ready(more)) {
            fd::encode_pack(replies, held,
                            responder.reply(tx_.take(held_n, next)));
            held = -1;
          }
        }
      } catch (const fd::protocol_error& e) {
        std::fprintf(stderr, "error: the Spark Sink stand-in: %s\n",
                     e.what());
        break;
      }
      if (::send(conn, replies.data(), replies.size(), MSG_NOSIGNAL) < 0)
        break;
    }
    ::close(conn);
  }

  int listener_;
  const std::vector<std::string>& text_;
  size_t next_ = 0;
  caf_stream::flume::detail::sink_transactions tx_;
  std::thread thread_;
};

} // namespace bench
