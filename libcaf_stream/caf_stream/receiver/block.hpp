#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace caf_stream {

/// Records of one receiver sealed together: the unit in which received data
/// travels from receivers to batches (one RDD partition per block).
struct block {
  /// The receiver stream the block belongs to.
  int32_t stream_id = 0;
  /// Number of records in the block.
  int64_t records = 0;
  /// The records: a `const std::vector<T>` of the stream's element type.
  std::shared_ptr<const void> data;
};

namespace detail {

/// Where a receiver's `store` calls collect records until the block generator
/// seals them (every block interval) into blocks.
class block_buffer_base {
public:
  virtual ~block_buffer_base();

  /// Takes every stored record out: whole blocks stored at once, then the
  /// records stored one by one as one more block.
  virtual std::vector<block> seal() = 0;
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
    std::lock_guard<std::mutex> guard{mtx_};
    current_.push_back(x);
  }

  void push(T&& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    current_.push_back(std::move(x));
  }

  void push_block(std::vector<T> xs) {
    if (xs.empty())
      return;
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
    }
    if (!current.empty())
      result.push_back(make_block(std::move(current)));
    return result;
  }

private:
  block make_block(std::vector<T> xs) const {
    auto n = static_cast<int64_t>(xs.size());
    return block{stream_id_, n,
                 std::make_shared<const std::vector<T>>(std::move(xs))};
  }

  int32_t stream_id_;
  std::mutex mtx_;
  std::vector<T> current_;
  std::vector<block> ready_;
};

} // namespace detail
} // namespace caf_stream
