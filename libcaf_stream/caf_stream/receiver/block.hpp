#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"

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
