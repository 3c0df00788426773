#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/clock.hpp"
#include "caf_stream/receiver/rate_limiter.hpp"

namespace caf_stream {

/// Records of one receiver sealed together: the unit in which received data
/// travels from receivers to batches (one RDD partition per block).
/// Records stay by pointer on the node that received them; a block that
/// crosses a node boundary carries them as Boost.Serialization bytes, which
/// the batch's input stream decodes.
struct block {
  /// The receiver stream the block belongs to.
  int32_t stream_id = 0;
  /// Number of records in the block.
  int64_t records = 0;
  /// The records: a `const std::vector<T>` of the stream's element type
  /// (null once the block came from another node).
  std::shared_ptr<const void> data;
  /// Turns `data` into bytes; null if the element type is not serializable.
  std::string (*encode)(const void*) = nullptr;
  /// The records as bytes, after the block came from another node.
  std::string bytes;

  /// The Boost.Serialization form of the records; throws `stream_error` if
  /// their type has no `serialize`.
  std::string to_bytes() const;
};

namespace detail {

[[noreturn]] void throw_not_serializable(const char* what);

/// The records of `b` as a vector of `T`: by pointer, or decoded from the
/// bytes it came with from another node.
template <class T>
std::shared_ptr<const std::vector<T>> block_records(const block& b) {
  if (b.data)
    return std::static_pointer_cast<const std::vector<T>>(b.data);
  auto result = std::make_shared<std::vector<T>>();
  if constexpr (is_serializable<std::vector<T>>::value) {
    if (!b.bytes.empty())
      from_bytes(b.bytes, *result);
  } else {
    throw_not_serializable("receiving a block");
  }
  return result;
}

/// Where a receiver's `store` calls collect records until the block generator
/// seals them (every block interval) into blocks. Also where the receiver is
/// slowed down: `store` waits for the rate limiter (`stream.receiver.max-rate`
/// or the rate controller's rate) and while `stream.block-queue-size` blocks
/// wait for a batch. Waiting never drops a record.
class block_buffer_base {
public:
  virtual ~block_buffer_base();

  /// Takes every stored record out: whole blocks stored at once, then the
  /// records stored one by one as one more block.
  virtual std::vector<block> seal() = 0;

  /// Sets up flow control (by the runtime, before the receiver starts).
  void configure(std::shared_ptr<clock> clk, rate_limiter limiter,
                 size_t queue_size);

  /// Applies a rate from the rate controller (records per second).
  void update_rate(double records_per_second);

  /// The rate in force (none: unlimited).
  std::optional<double> rate() const;

  /// Marks `n` sealed blocks as allocated to a batch: they leave the queue.
  void release(size_t n);

  /// Lets waiting and future `store` calls pass without waiting (the
  /// receiver stops; what it stores is still kept).
  void set_draining(bool value);

protected:
  /// Waits until `n` more records may be stored.
  void admit(int64_t n, bool whole_block);

  /// Counts blocks that left the buffer sealed.
  void sealed(size_t n);

private:
  bool queue_full() const;

  // Recomputes `may_wait_`; called with `flow_mtx_` held.
  void update_may_wait();

  std::shared_ptr<clock> clk_;
  mutable std::mutex flow_mtx_;
  std::condition_variable flow_cv_;
  rate_limiter limiter_;
  size_t queue_size_ = 0;
  size_t queued_ = 0;
  std::atomic<bool> draining_{false};
  // Whether a single-record `store` may have to wait (a rate is set or the
  // queue is full).
  std::atomic<bool> may_wait_{false};
};

/// The typed buffer of a `receiver<T>`. Thread-safe: receivers store from
/// their own threads.
template <class T>
class block_buffer final : public block_buffer_base {
public:
  explicit block_buffer(int32_t stream_id) : stream_id_(stream_id) {
    // nop
  }

  void push(const T& x) {
    admit(1, false);
    std::lock_guard<std::mutex> guard{mtx_};
    current_.push_back(x);
  }

  void push(T&& x) {
    admit(1, false);
    std::lock_guard<std::mutex> guard{mtx_};
    current_.push_back(std::move(x));
  }

  void push_block(std::vector<T> xs) {
    if (xs.empty())
      return;
    admit(static_cast<int64_t>(xs.size()), true);
    auto b = make_block(std::move(xs));
    std::lock_guard<std::mutex> guard{mtx_};
    ready_.push_back(std::move(b));
  }

  std::vector<block> seal() override {
    std::vector<T> current;
    std::vector<block> result;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      current.swap(current_);
      result.swap(ready_);
      // The next block is likely as large: no doubling steps while the
      // receiver stores into it.
      current_.reserve(current.size());
    }
    auto whole_blocks = result.size();
    if (!current.empty())
      result.push_back(make_block(std::move(current)));
    sealed(result.size() - whole_blocks);
    return result;
  }

private:
  block make_block(std::vector<T> xs) const {
    block result;
    result.stream_id = stream_id_;
    result.records = static_cast<int64_t>(xs.size());
    result.data = std::make_shared<const std::vector<T>>(std::move(xs));
    if constexpr (detail::is_serializable<std::vector<T>>::value)
      result.encode = [](const void* p) {
        return to_bytes(*static_cast<const std::vector<T>*>(p));
      };
    return result;
  }

  int32_t stream_id_;
  std::mutex mtx_;
  std::vector<T> current_;
  std::vector<block> ready_;
};

} // namespace detail
} // namespace caf_stream
