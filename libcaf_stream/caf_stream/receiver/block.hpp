#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/clock.hpp"
#include "caf_stream/receiver/rate_limiter.hpp"

namespace caf_stream {

/// The actor that holds the records of a block kept on the node that
/// received it (defined by the runtime: a handle of that node's actor).
struct block_holder;

/// Records of one receiver sealed together: the unit in which received data
/// travels from receivers to batches (one RDD partition per block).
/// Records stay by pointer on the node that received them; a block that
/// crosses a node boundary carries them as Boost.Serialization bytes, which
/// the batch's input stream decodes. A text receiver's block holds its lines
/// as the bytes that arrived (`text_chunks`), cut into strings by the tasks
/// that read it.
struct block {
  /// The receiver stream the block belongs to.
  int32_t stream_id = 0;
  /// Number of records in the block.
  int64_t records = 0;
  /// Whether the records are text lines kept as bytes, each ending in '\n'
  /// (a `std::string` stream's `store_lines`).
  bool lines = false;
  /// The records: a `const std::vector<T>` of the stream's element type, or
  /// the lines' `const text_chunks` (null once the block came from another
  /// node).
  std::shared_ptr<const void> data;
  /// Turns `data` into bytes; null if the element type is not serializable.
  std::string (*encode)(const void*) = nullptr;
  /// The records as bytes (the lines themselves for a lines block), after
  /// the block came from another node.
  std::string bytes;
  /// The segment of the receiver write-ahead log that holds the block (-1:
  /// not logged), and the offset of its record there.
  int64_t log_segment = -1;
  uint64_t log_offset = 0;
  /// Whether recovery read the block back from the write-ahead log: no
  /// receiver's buffer counts it.
  bool recovered = false;
  /// The block's number among those its worker node keeps (0: not kept on
  /// a worker node).
  uint64_t id = 0;
  /// The worker node ("host:port", as the driver names it) that keeps the
  /// records, where tasks that read them run best (Spark's preferred
  /// location of a block); empty if no node keeps them.
  std::string location;
  /// Who hands out the records `location` keeps (null if none does).
  std::shared_ptr<const block_holder> holder;
  /// The second worker node that keeps a copy of the records under the same
  /// number (`stream.receiver.replication` 2), empty if none does; and who
  /// hands them out there.
  std::string replica_location;
  std::shared_ptr<const block_holder> replica;

  /// Whether the records stayed on the nodes that keep them: the block came
  /// without them, and a task that reads them here fetches them first
  /// (`task_runner::fetch_block`).
  bool remote() const noexcept {
    return (holder != nullptr || replica != nullptr) && data == nullptr
           && bytes.empty();
  }

  /// Whether worker node `node` keeps the records.
  bool kept_on(const std::string& node) const noexcept {
    return (holder != nullptr && location == node)
           || (replica != nullptr && replica_location == node);
  }

  /// The Boost.Serialization form of the records; throws `stream_error` if
  /// their type has no `serialize`.
  std::string to_bytes() const;
};

namespace detail {

class received_block_log;

/// Where a block that a receiver on a worker node hands over whole goes
/// before `store` returns, as Spark pushes a stored `ArrayBuffer` at once:
/// the driver's receiver tracker (after the node keeps the block and a
/// second node has its copy). It does not wait in the buffer for the next
/// seal.
class whole_block_sink {
public:
  virtual ~whole_block_sink();

  /// Delivers `b`; throws `stream_error` if it cannot (the records then
  /// count as not stored).
  virtual void deliver(block b) = 0;
};

/// The size of the pieces in which a lines block holds its text.
inline constexpr size_t text_chunk_size = 256 * 1024;

[[noreturn]] void throw_not_serializable(const char* what);

/// The lines of a lines block: pieces of text of at most a few hundred KB
/// (one per piece of memory the receiver filled), each holding complete
/// lines ending in '\n'.
using text_chunks = std::vector<std::string>;

/// Calls `f(line)` for each line of `text`, whose lines end in '\n' (a
/// chunk's last one may not); a '\r' before the '\n' is dropped. One string
/// is reused for all lines: `f` copies what it keeps.
template <class F>
void for_each_line(const text_chunks& text, F&& f) {
  std::string line;
  for (const auto& chunk : text) {
    const char* first = chunk.data();
    const char* last = first + chunk.size();
    while (first != last) {
      auto nl = static_cast<const char*>(std::memchr(first, '\n', last - first));
      auto end = nl != nullptr ? nl : last;
      line.assign(first, end != first && end[-1] == '\r' ? end - 1 : end);
      f(line);
      if (nl == nullptr)
        break;
      first = nl + 1;
    }
  }
}

/// The text of a lines block: by pointer, or the bytes it came with from
/// another node.
std::shared_ptr<const text_chunks> block_text(const block& b);

/// The records of `b` as a vector of `T`: by pointer, or decoded from the
/// bytes it came with from another node.
template <class T>
std::shared_ptr<const std::vector<T>> block_records(const block& b) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (b.lines) {
      auto result = std::make_shared<std::vector<std::string>>();
      result->reserve(static_cast<size_t>(b.records));
      for_each_line(*block_text(b),
                    [&](const std::string& x) { result->push_back(x); });
      return result;
    }
  }
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

/// A block of `records` of stream `stream_id`, kept by pointer (and encoded
/// when it leaves the node, if `T` is serializable).
template <class T>
block make_block(int32_t stream_id, std::shared_ptr<const std::vector<T>> records) {
  block result;
  result.stream_id = stream_id;
  result.records = static_cast<int64_t>(records->size());
  result.data = std::move(records);
  if constexpr (is_serializable<std::vector<T>>::value)
    result.encode = [](const void* p) {
      return to_bytes(*static_cast<const std::vector<T>*>(p));
    };
  return result;
}

template <class T>
block make_block(int32_t stream_id, std::vector<T> records) {
  return make_block(stream_id,
                    std::shared_ptr<const std::vector<T>>{
                      std::make_shared<std::vector<T>>(std::move(records))});
}

/// The records of `b`, which the caller gives up: moved out if `b` held the
/// only reference to them (records that `make_block` took by value, or that
/// came as bytes), copied otherwise.
template <class T>
std::vector<T> take_block_records(block&& b) {
  auto xs = block_records<T>(b);
  b = block{};
  if (xs.use_count() != 1)
    return *xs;
  // Made non-const by `make_block(id, std::vector<T>)` or by decoding.
  return std::move(const_cast<std::vector<T>&>(*xs));
}

/// Where a receiver's `store` calls collect records until the block generator
/// seals them (every block interval) into blocks; a block stored whole goes
/// to the sink before `store` returns, if one is attached (on a worker
/// node), else it waits for the next seal. Also where the receiver is slowed
/// down: `store` waits for the rate limiter (`stream.receiver.max-rate` or
/// the rate controller's rate) and while `stream.block-queue-size` blocks
/// are on their way: stored whole to the sink, or sealed to a second node
/// (`hold`). Waiting never drops a record.
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

  /// The blocks in the queue now.
  size_t queued() const;

  /// Counts `n` sealed blocks in the queue until `release(n)`: on a worker
  /// node that copies its blocks to a second node, they wait there for
  /// their copy, and `store` waits while the queue is full, as Spark's block
  /// generator holds its receiver while `blockQueueSize` blocks wait to be
  /// pushed.
  void hold(size_t n);

  /// Takes `n` blocks out of the queue: blocks of `hold` that reached the
  /// second node (or failed to), blocks stored whole that reached the sink
  /// (or failed to).
  void release(size_t n);

  /// Lets waiting and future `store` calls pass without waiting (the
  /// receiver stops; what it stores is still kept).
  void set_draining(bool value);

  /// Logs every block in `log` before it leaves the buffer (the receiver
  /// write-ahead log; by the runtime, before the receiver starts).
  void attach_log(std::shared_ptr<received_block_log> log);

  /// Delivers each block that `store` hands over whole to `sink` before
  /// `store` returns, and counts it in the queue meanwhile (by the runtime
  /// on a worker node, before the receiver starts). Without a sink a block
  /// stored whole waits for the next seal in the driver's memory, where the
  /// tracker takes it from, and counts in no queue: counted until a batch
  /// took it, it would let a receiver store no more blocks per batch
  /// interval than the queue holds.
  void attach_sink(std::shared_ptr<whole_block_sink> sink);

  /// Returns whether blocks go to a write-ahead log.
  bool logged() const noexcept {
    return log_ != nullptr;
  }

protected:
  /// Waits until `n` more records may be stored (`whole_block`: as one
  /// block, which counts in the queue until the sink has it).
  void admit(int64_t n, bool whole_block);

  /// Logs a block that `store` hands over whole, before `store` returns;
  /// throws `stream_error` if the log cannot be written (the records count
  /// as not stored).
  void log_block(block& b);

  /// Delivers a block that `store` hands over whole to the sink, if one is
  /// attached, before `store` returns; returns whether it did. Throws
  /// `stream_error` if the sink cannot take it (the records count as not
  /// stored).
  bool hand_over(block& b);

  /// Logs the blocks of `xs` from index `first` on (sealed from records
  /// stored one by one), then ends the block interval in the log. A block
  /// that cannot be logged goes on unlogged, with an error.
  void log_sealed(int32_t stream_id, std::vector<block>& xs, size_t first);

private:
  bool queue_full() const;

  // Recomputes `may_wait_`; called with `flow_mtx_` held.
  void update_may_wait();

  std::shared_ptr<clock> clk_;
  std::shared_ptr<received_block_log> log_;
  std::shared_ptr<whole_block_sink> sink_;
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

  /// Stores `size` bytes holding `count` complete lines, each ending in
  /// '\n'. They join the block being collected as bytes, in chunks of
  /// `text_chunk_size` (`T` is `std::string`). Under a rate the lines go in
  /// slices of about 10 ms of it, so that they reach the blocks at the rate
  /// rather than a whole read at a time.
  void push_lines(const char* data, size_t size, int64_t count) {
    static_assert(std::is_same_v<T, std::string>,
                  "only a receiver<std::string> stores lines");
    if (count == 0)
      return;
    auto r = rate();
    if (!r) {
      admit(count, false);
      append_lines(data, size, count);
      return;
    }
    auto slice = std::max(int64_t{1}, static_cast<int64_t>(*r / 100));
    const char* last = data + size;
    while (count > 0) {
      auto n = std::min(slice, count);
      const char* end = data;
      for (int64_t i = 0; i < n; ++i)
        end = static_cast<const char*>(std::memchr(end, '\n', last - end)) + 1;
      admit(n, false);
      append_lines(data, static_cast<size_t>(end - data), n);
      data = end;
      count -= n;
    }
  }

  void push_block(std::vector<T> xs) {
    if (xs.empty())
      return;
    admit(static_cast<int64_t>(xs.size()), true);
    auto b = make_block(stream_id_, std::move(xs));
    log_block(b);
    if (hand_over(b))
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    ready_.push_back(std::move(b));
  }

  std::vector<block> seal() override {
    std::vector<T> current;
    text_chunks text;
    int64_t text_lines = 0;
    std::vector<block> result;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      current.swap(current_);
      text.swap(chunks_);
      std::swap(text_lines, text_lines_);
      result.swap(ready_);
      // The next block is likely as large: no doubling steps while the
      // receiver stores into it.
      current_.reserve(current.size());
      // A chunk that is mostly empty (a slow stream) leaves as a copy of
      // its size and its memory stays for the next lines.
      if (text_.size() * 2 < text_.capacity()) {
        if (!text_.empty())
          text.emplace_back(text_);
        text_.clear();
      } else if (!text_.empty()) {
        text.push_back(std::move(text_));
        text_ = std::string{};
      }
    }
    auto whole_blocks = result.size();
    if (!current.empty())
      result.push_back(make_block(stream_id_, std::move(current)));
    if (text_lines > 0)
      result.push_back(make_lines_block(std::move(text), text_lines));
    log_sealed(stream_id_, result, whole_blocks);
    return result;
  }

private:
  void append_lines(const char* data, size_t size, int64_t count) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!text_.empty() && text_.size() + size > text_chunk_size) {
      chunks_.push_back(std::move(text_));
      text_ = std::string{};
    }
    if (text_.capacity() < text_chunk_size)
      text_.reserve(std::max(text_chunk_size, size));
    text_.append(data, size);
    text_lines_ += count;
  }

  block make_lines_block(text_chunks text, int64_t count) const {
    block result;
    result.stream_id = stream_id_;
    result.records = count;
    result.lines = true;
    result.data = std::make_shared<const text_chunks>(std::move(text));
    result.encode = [](const void* p) {
      std::string bytes;
      for (const auto& chunk : *static_cast<const text_chunks*>(p))
        bytes += chunk;
      return bytes;
    };
    return result;
  }

  int32_t stream_id_;
  std::mutex mtx_;
  std::vector<T> current_;
  // Lines stored by `push_lines` since the last seal: full chunks, the
  // chunk being filled, and their count.
  text_chunks chunks_;
  std::string text_;
  int64_t text_lines_ = 0;
  std::vector<block> ready_;
};

} // namespace detail
} // namespace caf_stream
