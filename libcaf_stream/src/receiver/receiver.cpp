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

} // namespace detail

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
