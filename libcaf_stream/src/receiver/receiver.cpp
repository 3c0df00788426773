#include "caf_stream/receiver/receiver.hpp"

#include "caf_stream/error.hpp"

namespace caf_stream {

namespace detail {

receiver_host::~receiver_host() {
  // nop
}

block_buffer_base::~block_buffer_base() {
  // nop
}

void throw_store_before_start() {
  throw stream_error(errc::illegal_state,
                     "receiver::store called on a receiver that is not part "
                     "of a started streaming context");
}

[[noreturn]] void throw_not_serializable(const char* what) {
  throw stream_error(errc::illegal_state,
                     std::string{what}
                       + ": the records' type has no Boost.Serialization "
                         "`serialize` (a public member or a free function), "
                         "so they cannot leave this node");
}

} // namespace detail

std::string block::to_bytes() const {
  if (!data)
    return bytes;
  if (encode == nullptr)
    detail::throw_not_serializable("sending a block");
  return encode(data.get());
}

receiver_base::~receiver_base() {
  // nop
}

void receiver_base::attach(std::shared_ptr<detail::receiver_host> host,
                           int32_t stream_id) {
  host_ = std::move(host);
  stream_id_ = stream_id;
}

void receiver_base::restart(const std::string& message) {
  stopped_ = true;
  if (host_)
    host_->restart(message, std::nullopt);
}

void receiver_base::restart(const std::string& message, duration delay) {
  stopped_ = true;
  if (host_)
    host_->restart(message, delay);
}

void receiver_base::stop(const std::string& message) {
  stopped_ = true;
  if (host_)
    host_->stop(message);
}

void receiver_base::report_error(const std::string& message) {
  if (host_)
    host_->report_error(message);
}

} // namespace caf_stream
