#include "caf_stream/receiver/receiver.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"

namespace caf_stream {

namespace detail {

receiver_host::~receiver_host() {
  // nop
}

block_buffer_base::~block_buffer_base() {
  // nop
}

void block_buffer_base::configure(std::shared_ptr<clock> clk,
                                  rate_limiter limiter, size_t queue_size) {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  clk_ = std::move(clk);
  limiter_ = limiter;
  queue_size_ = queue_size;
  update_may_wait();
}

void block_buffer_base::update_rate(double records_per_second) {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  limiter_.update_rate(records_per_second);
  update_may_wait();
}

std::optional<double> block_buffer_base::rate() const {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  return limiter_.rate();
}

void block_buffer_base::hold(size_t n) {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  queued_ += n;
  update_may_wait();
}

void block_buffer_base::release(size_t n) {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  queued_ -= std::min(n, queued_);
  update_may_wait();
  flow_cv_.notify_all();
}

size_t block_buffer_base::queued() const {
  std::lock_guard<std::mutex> guard{flow_mtx_};
  return queued_;
}

void block_buffer_base::set_draining(bool value) {
  draining_ = value;
  std::lock_guard<std::mutex> guard{flow_mtx_};
  flow_cv_.notify_all();
  if (clk_)
    clk_->wake();
}

bool block_buffer_base::queue_full() const {
  return queue_size_ > 0 && queued_ >= queue_size_;
}

void block_buffer_base::update_may_wait() {
  may_wait_ = limiter_.rate().has_value() || queue_full();
}

void block_buffer_base::admit(int64_t n, bool whole_block) {
  // The per-record path: without a rate and with room in the queue nothing
  // can make `store` wait, so it takes no lock.
  if (!whole_block && !may_wait_.load(std::memory_order_relaxed))
    return;
  std::shared_ptr<clock> clk;
  time until;
  {
    std::unique_lock<std::mutex> guard{flow_mtx_};
    // A full queue holds the receiver until blocks stored whole reach the
    // sink.
    flow_cv_.wait(guard, [&] { return !queue_full() || draining_.load(); });
    if (whole_block && sink_) {
      ++queued_;
      update_may_wait();
    }
    if (!clk_ || !limiter_.rate())
      return;
    clk = clk_;
    until = limiter_.reserve(n, clk->now());
  }
  if (until > clk->now())
    clk->sleep_until(until, [this] { return draining_.load(); });
}

void block_buffer_base::attach_log(std::shared_ptr<received_block_log> log) {
  log_ = std::move(log);
}

whole_block_sink::~whole_block_sink() {
  // nop
}

void block_buffer_base::attach_sink(std::shared_ptr<whole_block_sink> sink) {
  sink_ = std::move(sink);
}

bool block_buffer_base::hand_over(block& b) {
  if (!sink_)
    return false;
  // Delivered, the block no longer waits in this buffer's queue.
  try {
    sink_->deliver(std::move(b));
  } catch (...) {
    release(1);
    throw;
  }
  release(1);
  return true;
}

void block_buffer_base::log_block(block& b) {
  if (!log_)
    return;
  try {
    log_->add(b);
  } catch (...) {
    if (sink_)
      release(1);
    throw;
  }
}

void block_buffer_base::log_sealed(int32_t stream_id, std::vector<block>& xs,
                                   size_t first) {
  if (!log_)
    return;
  for (size_t i = first; i < xs.size(); ++i) {
    try {
      log_->add(xs[i]);
    } catch (const std::exception& e) {
      logger("wal")->error("a block of {} records goes on without being in "
                           "the write-ahead log: {}",
                           xs[i].records, e.what());
    }
  }
  try {
    log_->flush(stream_id);
  } catch (const std::exception& e) {
    logger("wal")->error("{}", e.what());
  }
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

std::shared_ptr<const text_chunks> block_text(const block& b) {
  if (b.data)
    return std::static_pointer_cast<const text_chunks>(b.data);
  return std::make_shared<const text_chunks>(text_chunks{b.bytes});
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

bool receiver_base::driver_only() const noexcept {
  return false;
}

void receiver_base::attach(std::shared_ptr<detail::receiver_host> host,
                           int32_t stream_id) {
  host_ = std::move(host);
  stream_id_ = stream_id;
}

void receiver_base::on_rate_update(double) {
  // nop
}

std::optional<double> receiver_base::update_rate(double records_per_second) {
  auto in_force = apply_rate(records_per_second);
  if (in_force)
    on_rate_update(*in_force);
  return in_force;
}

void receiver_base::on_stopped_changed(bool) noexcept {
  // nop
}

void receiver_base::restart(const std::string& message) {
  set_stopped(true);
  if (host_)
    host_->restart(message, std::nullopt);
}

void receiver_base::restart(const std::string& message, duration delay) {
  set_stopped(true);
  if (host_)
    host_->restart(message, delay);
}

void receiver_base::stop(const std::string& message) {
  set_stopped(true);
  if (host_)
    host_->stop(message);
}

void receiver_base::report_error(const std::string& message) {
  if (host_)
    host_->report_error(message);
}

} // namespace caf_stream
