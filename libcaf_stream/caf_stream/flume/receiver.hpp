#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "caf_stream/flume/event.hpp"
#include "caf_stream/receiver/threaded_receiver.hpp"

namespace caf_stream::flume {

/// How a Flume stream serves its clients (Flume agents' AvroSinks).
struct settings {
  /// The most bytes one request may take (a call with its events, Netty
  /// framing included). A client that announces more is reported and
  /// disconnected before its bytes are read. Flume's AvroSink sends
  /// `batch-size` events (100 by default) per call.
  size_t max_request_size = 16 * 1024 * 1024;

  /// The most clients connected at once; more wait in the listen backlog
  /// until one leaves.
  size_t max_connections = 256;

  /// Whether clients compress their connections (Spark's
  /// `enableDecompression`): a Flume AvroSink with
  /// `compression-type = deflate` sends a zlib stream and reads one back.
  /// Off, a client that compresses is refused at its first bytes, with a
  /// clear error; on, one that does not is refused the same way.
  bool enable_decompression = false;
};

namespace detail {

/// Checks the arguments of a Flume stream; throws `std::invalid_argument`
/// naming `what` (no host, port 0, a request size under 1 KiB, no
/// connection allowed).
void check_arguments(const std::string& host, int port, const settings& cfg,
                     const char* what);

/// The receiver of a Flume stream (Spark's `FlumeReceiver`): an Avro RPC
/// server of Flume's `AvroSourceProtocol` on host:port, on a thread of its
/// own. `appendBatch` stores its events as one block and `append` its event
/// as one record (a block of its own with the write-ahead log on); either
/// answers OK only after `store` returned, FAILED while the stream stops or
/// when storing failed. A client that sends what is not such a request, or
/// more than `max_request_size`, is reported and disconnected; a request
/// cut off by a disconnect is reported and not stored. Either way nothing
/// is answered OK that was not stored.
class flume_receiver final : public threaded_receiver<event> {
public:
  flume_receiver(std::string host, uint16_t port, settings cfg);

  ~flume_receiver() override;

private:
  void receive() override;

  // Listens and serves the clients until the receiver stops; throws what
  // restarts the receiver (the port taken, poll failing).
  void serve_clients(const std::string& where);

  std::string host_;
  uint16_t port_;
  settings cfg_;
};

} // namespace detail

} // namespace caf_stream::flume
