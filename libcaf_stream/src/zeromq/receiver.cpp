#include "caf_stream/zeromq/receiver.hpp"

#include <stdexcept>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "caf_stream/error.hpp"

namespace caf_stream::zeromq {

std::vector<std::string> text_converter(const frames& msg) {
  if (msg.empty())
    return {};
  return {msg.begin() + 1, msg.end()};
}

namespace detail {

void check_endpoint(const std::string& url, const char* what) {
  for (const char* scheme : {"tcp://", "ipc://", "inproc://"})
    if (url.rfind(scheme, 0) == 0 && url.size() > std::string{scheme}.size())
      return;
  throw std::invalid_argument(std::string{what} + ": '" + url
                              + "' is not a ZeroMQ endpoint (tcp://host:port, "
                                "ipc://path or inproc://name)");
}

struct zmq_source::impl {
  zmq::context_t ctx{1};
  zmq::socket_t socket;
  std::string url;
};

zmq_source::zmq_source(socket_kind kind, const std::string& url,
                       const std::vector<std::string>& topics, bool connect)
  : impl_(std::make_unique<impl>()) {
  impl_->url = url;
  try {
    impl_->socket = zmq::socket_t{impl_->ctx, kind == socket_kind::sub
                                                ? zmq::socket_type::sub
                                                : zmq::socket_type::pull};
    // Closing drops what is queued at once instead of lingering.
    impl_->socket.set(zmq::sockopt::linger, 0);
    for (const auto& topic : topics)
      impl_->socket.set(zmq::sockopt::subscribe, topic);
    if (connect)
      impl_->socket.connect(url);
    else
      impl_->socket.bind(url);
  } catch (const zmq::error_t& e) {
    throw stream_error(errc::source_failure,
                       std::string{"zeromq: cannot "}
                         + (connect ? "connect to " : "bind to ") + url + ": "
                         + e.what());
  }
}

zmq_source::~zmq_source() {
  // nop
}

bool zmq_source::receive(frames& msg, duration timeout) {
  zmq::pollitem_t item{impl_->socket.handle(), 0, ZMQ_POLLIN, 0};
  try {
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout.count())) == 0)
      return false;
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(impl_->socket, std::back_inserter(parts),
                             zmq::recv_flags::dontwait))
      return false;
    msg.clear();
    for (auto& part : parts)
      msg.emplace_back(part.to_string());
    return true;
  } catch (const zmq::error_t& e) {
    throw stream_error(errc::source_failure, "zeromq: receiving from "
                                               + impl_->url + " failed: "
                                               + e.what());
  }
}

} // namespace detail

} // namespace caf_stream::zeromq
