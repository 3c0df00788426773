#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "caf_stream/dstream/node.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/receiver.hpp"

namespace caf_stream::detail {

/// The RDD partitions of a receiver stream's batch, one per block (Spark's
/// BlockRDD): the records by pointer or decoded from the bytes they came
/// with, or, for a block whose records stayed on the worker node that keeps
/// it, fetched from there by `prepare` (`task_runner::fetch_block`). A
/// lines block's lines are cut as the task reads them (in parallel, into
/// one reused string each). The nodes that keep a block (its own, then its
/// copy's) are its partition's locations.
template <class T>
class received_node final : public rdd_node<T> {
public:
  explicit received_node(const std::vector<block>& blocks)
    : parts_(blocks.size()) {
    for (size_t i = 0; i < blocks.size(); ++i) {
      auto& part = parts_[i];
      const auto& b = blocks[i];
      part.stream_id = b.stream_id;
      if (b.holder)
        part.locations.push_back(b.location);
      if (b.replica)
        part.locations.push_back(b.replica_location);
      if (b.remote())
        part.source = b;
      else
        part.take(b);
    }
  }

  const char* kind() const noexcept override {
    return "BlockRDD";
  }

  size_t num_partitions() const override {
    return parts_.size();
  }

  void prepare(task_runner& runner) const override {
    for (auto& part : parts_) {
      if (part.ready.load(std::memory_order_acquire))
        continue;
      std::lock_guard<std::mutex> guard{part.mtx};
      if (!part.ready.load(std::memory_order_relaxed))
        part.take(runner.fetch_block(part.source));
    }
  }

  void compute(size_t index,
               typename rdd_node<T>::sink out) const override {
    const auto& part = parts_[index];
    if (!part.ready.load(std::memory_order_acquire))
      throw stream_error(errc::illegal_state,
                         "a task read a block of receiver stream "
                           + std::to_string(part.stream_id)
                           + " that stayed on the worker node "
                           + part.source.location + " before it was fetched");
    if constexpr (std::is_same_v<T, std::string>) {
      if (part.text != nullptr) {
        for_each_line(*part.text, out);
        return;
      }
    }
    for (const auto& x : *part.records)
      out(x);
  }

  const std::vector<T>* held_records(size_t index) const override {
    const auto& part = parts_[index];
    if (!part.ready.load(std::memory_order_acquire))
      return nullptr;
    return part.records.get();
  }

  std::vector<std::string> locations(size_t index) const override {
    return parts_[index].locations;
  }

private:
  struct partition {
    int32_t stream_id = 0;
    std::vector<std::string> locations;
    // What a block that stayed on its node names, until it is fetched.
    block source;
    std::mutex mtx;
    std::atomic<bool> ready{false};
    std::shared_ptr<const std::vector<T>> records;
    std::shared_ptr<const text_chunks> text;

    void take(const block& b) {
      if constexpr (std::is_same_v<T, std::string>) {
        if (b.lines)
          text = block_text(b);
        else
          records = block_records<T>(b);
      } else {
        records = block_records<T>(b);
      }
      source = block{};
      ready.store(true, std::memory_order_release);
    }
  };

  mutable std::vector<partition> parts_;
};

/// The partitions of an input's RDD, as the lineage of the stream that
/// reads it sees them: without the RDD's own lineage, which other nodes do
/// not get (they get the partitions' records).
template <class T>
class input_partitions_node final : public rdd_node<T> {
public:
  explicit input_partitions_node(rdd_node_ptr<T> data)
    : data_(std::move(data)) {
    // nop
  }

  /// The class of the input's RDD (a queue's `ParallelCollectionRDD`, say),
  /// which Spark's input stream hands out as it is.
  const char* kind() const noexcept override {
    return data_->kind();
  }

  size_t num_partitions() const override {
    return data_->num_partitions();
  }

  void prepare(task_runner& runner) const override {
    data_->prepare(runner);
  }

  void compute(size_t index,
               typename rdd_node<T>::sink out) const override {
    data_->compute(index, out);
  }

  std::vector<T> materialize(size_t index) const override {
    return data_->materialize(index);
  }

  const std::vector<T>* held_records(size_t index) const override {
    return data_->held_records(index);
  }

private:
  rdd_node_ptr<T> data_;
};

/// A batch's input whose partitions came from another node as bytes
/// (`to_bytes` of each one's records), read where a task reads them: the
/// node's tasks decode their partitions side by side, and lines go one by
/// one into the task, with no vector of them made. An empty string is a
/// partition left out for a node whose tasks do not read it (an empty
/// partition's bytes are not empty).
template <class T>
class encoded_partitions_node final : public rdd_node<T> {
public:
  explicit encoded_partitions_node(std::vector<std::string> parts)
    : parts_(std::move(parts)) {
    // nop
  }

  size_t num_partitions() const override {
    return parts_.size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    const auto& bytes = parts_.at(index);
    if (bytes.empty())
      return;
    if constexpr (std::is_same_v<T, std::string>) {
      for_each_string(bytes, out);
    } else {
      for (const auto& x : materialize(index))
        out(x);
    }
  }

  std::vector<T> materialize(size_t index) const override {
    std::vector<T> result;
    if (!parts_.at(index).empty())
      from_bytes(parts_[index], result);
    return result;
  }

private:
  std::vector<std::string> parts_;
};

/// What the runtime needs of a receiver stream: its receiver, the buffer the
/// receiver stores into, and a way to give a batch its blocks.
class receiver_input_base : public input_node_base {
public:
  explicit receiver_input_base(int32_t stream_id) : stream_id_(stream_id) {
    // nop
  }

  int32_t stream_id() const noexcept {
    return stream_id_;
  }

  /// Hands the receiver to its supervisor (once, at start).
  virtual std::unique_ptr<receiver_base> take_receiver() = 0;

  /// What the stream is ("socket_text_stream", "receiver_stream", ...).
  virtual const char* stream_name() const noexcept = 0;

  /// The buffer the block generator seals.
  virtual std::shared_ptr<block_buffer_base> buffer() const = 0;

  /// Makes `blocks` the partitions of batch `t`'s RDD (the batch's runner,
  /// from its job set, before the batch's jobs run).
  virtual void bind(time t, std::vector<block> blocks) = 0;

  /// How long the blocks of a batch stay after it (windows reach back).
  virtual duration blocks_kept_for() const = 0;

  /// Whether the records can be written as bytes (to another node, to the
  /// receiver write-ahead log).
  virtual bool records_serializable() const noexcept = 0;

private:
  int32_t stream_id_;
};

/// Spark's ReceiverInputDStream: the RDD of a batch has one partition per
/// block allocated to it.
template <class T>
class receiver_input_node final : public dstream_node<T>,
                                  public receiver_input_base {
public:
  receiver_input_node(dstream_graph& graph, duration slide, int32_t stream_id,
                      std::unique_ptr<receiver<T>> rcv, const char* name)
    : dstream_node<T>(graph, slide, {}),
      receiver_input_base(stream_id),
      receiver_(std::move(rcv)),
      buffer_(std::make_shared<block_buffer<T>>(stream_id)),
      name_(name) {
    receiver_->attach_buffer(buffer_);
  }

  std::unique_ptr<receiver_base> take_receiver() override {
    return std::move(receiver_);
  }

  std::shared_ptr<block_buffer_base> buffer() const override {
    return buffer_;
  }

  const char* stream_name() const noexcept override {
    return name_;
  }

  void bind(time t, std::vector<block> blocks) override {
    if (!this->is_time_valid(t))
      return;
    // The batch's actions run on the runtime's runner, which fetches the
    // blocks that stayed on their nodes.
    auto x = make_rdd(blocks).with_context(this->context());
    this->restore(t, this->persisted() ? x.cache() : std::move(x));
  }

  duration blocks_kept_for() const override {
    return this->remember_duration();
  }

  // A batch's blocks travel to other nodes with its job set.
  bool portable() const noexcept override {
    return records_serializable();
  }

  bool records_serializable() const noexcept override {
    if constexpr (std::is_same_v<T, std::string>)
      return true;
    else
      return is_serializable<std::vector<T>>::value;
  }

  // The batch's blocks travel on their own; the job generator counts its
  // records from them.
  generated_input generate(time) override {
    return {};
  }

  const char* name() const noexcept override {
    return name_;
  }

  /// Calls `f` once when the context stops (whether or not it started):
  /// what lives beside the receiver and must end with the context.
  void on_context_stop(std::function<void()> f) {
    stop_hook_ = std::move(f);
  }

  void stop() override {
    if (auto f = std::move(stop_hook_))
      f();
  }

protected:
  // A batch without bound blocks (none were allocated to it) is empty.
  std::optional<rdd<T>> compute(time) override {
    return make_rdd({});
  }

private:
  static rdd<T> make_rdd(const std::vector<block>& blocks) {
    return rdd<T>{std::make_shared<received_node<T>>(blocks)};
  }

  std::unique_ptr<receiver<T>> receiver_;
  std::shared_ptr<block_buffer<T>> buffer_;
  const char* name_;
  std::function<void()> stop_hook_;
};

/// An input that fixes its RDD for batch `t` in `generate` (from a queue, a
/// directory listing, a test's data), which the batch's job set carries to
/// `bind_generated`, and hands it out in `compute`.
template <class T>
class generated_input_node : public dstream_node<T>, public input_node_base {
public:
  generated_input_node(dstream_graph& graph, duration slide)
    : dstream_node<T>(graph, slide, {}) {
    // nop
  }

  generated_input generate(time t) override {
    auto [data, records] = next(t);
    generated_input result;
    result.data = std::make_shared<const rdd<T>>(std::move(data));
    result.records = records;
    if constexpr (is_serializable<T>::value)
      result.encode = [](const void* p, const std::vector<bool>* wanted) {
        const auto& x = *static_cast<const rdd<T>*>(p);
        const auto& node = *x.node();
        node.prepare(x.runner());
        std::vector<std::string> parts(node.num_partitions());
        for (size_t i = 0; i < parts.size(); ++i)
          if (wanted == nullptr || (i < wanted->size() && (*wanted)[i]))
            parts[i] = node.partition_bytes(i);
        return parts;
      };
    if constexpr (written_by_hand<std::vector<T>>::value)
      result.write_held = [](const void* p, size_t i, byte_out* out) {
        const auto& x = *static_cast<const rdd<T>*>(p);
        const auto* node = x.node().get();
        const auto* xs = node != nullptr && i < node->num_partitions()
                           ? node->held_records(i)
                           : nullptr;
        if (xs == nullptr)
          return size_t{0};
        if (out != nullptr) {
          auto before = out->written();
          basic_record_writer<byte_out>{*out}.vector(*xs);
          out->flush();
          return out->written() - before;
        }
        byte_count n;
        basic_record_writer<byte_count>{n}.vector(*xs);
        return n.bytes;
      };
    return result;
  }

  // A batch's input travels to other nodes with its job set, as records.
  bool portable() const noexcept override {
    return is_serializable<T>::value;
  }

  void bind_generated(time t, generated_input x) override {
    const auto* given = static_cast<const rdd<T>*>(x.data.get());
    auto data = !given           ? decode(std::move(x.partitions))
                : this->portable() ? as_input(*given)
                                   : *given;
    std::lock_guard<std::mutex> guard{mtx_};
    fixed_.insert_or_assign(t, std::move(data));
  }

  void clear_metadata(time t) override {
    dstream_node<T>::clear_metadata(t);
    std::lock_guard<std::mutex> guard{mtx_};
    fixed_.erase(fixed_.begin(),
                 fixed_.upper_bound(t - this->remember_duration()));
  }

protected:
  /// The RDD of batch `t` and its record count (0 if unknown).
  virtual std::pair<rdd<T>, int64_t> next(time t) = 0;

  /// Sets the RDD of an earlier batch `t` (recovery: windows that reach
  /// back before the restart compute it again).
  void restore_fixed(time t, rdd<T> x) {
    std::lock_guard<std::mutex> guard{mtx_};
    fixed_.emplace(t, std::move(x));
  }

  std::optional<rdd<T>> compute(time t) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = fixed_.find(t); i != fixed_.end())
      return i->second;
    return rdd<T>{};
  }

private:
  // `x` without its own lineage, which other nodes do not get: a node's
  // path in a batch's lineage (`lineage_path`) never leads into it.
  static rdd<T> as_input(const rdd<T>& x) {
    if (!x.node())
      return x;
    return rdd<T>{std::make_shared<input_partitions_node<T>>(x.node())};
  }

  // The RDD of partitions that came as bytes.
  static rdd<T> decode(std::vector<std::string> parts) {
    if constexpr (is_serializable<T>::value) {
      return rdd<T>{
        std::make_shared<encoded_partitions_node<T>>(std::move(parts))};
    } else {
      throw_not_serializable("receiving a batch's input");
    }
  }

  std::mutex mtx_;
  std::map<time, rdd<T>> fixed_;
};

} // namespace caf_stream::detail
