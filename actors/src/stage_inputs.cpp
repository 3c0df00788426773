#include "stage_inputs.hpp"

#include <utility>

#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/dstream/node.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/rdd/lineage.hpp"

namespace caf_stream::actors {

void stage_inputs::set_batch(const job_set& js) {
  batch_.batch_time = js.batch_time;
  batch_.blocks = js.blocks;
  batch_.inputs = js.inputs;
  encoded_ = false;
}

void stage_inputs::encode() {
  if (encoded_)
    return;
  for (auto& [i, x] : batch_.inputs) {
    x.partitions = x.to_bytes();
    x.data.reset();
  }
  encoded_ = true;
}

block stage_inputs::left_out(const block& b) {
  block empty;
  empty.stream_id = b.stream_id;
  empty.lines = b.lines;
  return empty;
}

block stage_inputs::block_for(block& b, const std::string& node) {
  if (b.kept_on(node)) {
    // The node keeps the records itself.
    block result = b;
    result.data.reset();
    result.bytes.clear();
    return result;
  }
  if (b.data) {
    b.bytes = b.to_bytes();
    b.data.reset();
  }
  return b;
}

std::optional<std::map<int32_t, std::vector<bool>>>
stage_inputs::blocks_read(const detail::rdd_node_base& shuffle,
                          const std::vector<uint32_t>& tasks) const {
  // The batch's receiver streams, by the RDD node of their blocks.
  std::map<const detail::rdd_node_base*, int32_t> streams;
  for (const auto& in : graph_.receiver_inputs())
    if (auto* x = dynamic_cast<const detail::dstream_node_base*>(in.get()))
      if (auto lineage = x->portable_lineage(batch_.batch_time))
        streams.emplace(lineage.get(), in->stream_id());
  std::map<int32_t, std::vector<bool>> result;
  for (auto task : tasks) {
    size_t index = 0;
    auto* input = detail::map_task_input(shuffle, task, index);
    auto i = streams.find(input);
    if (i == streams.end())
      return std::nullopt;
    auto& read = result[i->second];
    if (read.size() <= index)
      read.resize(index + 1);
    read[index] = true;
  }
  return result;
}

job_set stage_inputs::for_node(const detail::rdd_node_base& shuffle,
                               const std::vector<uint32_t>& tasks,
                               bool own_partitions, const std::string& node) {
  if (!own_partitions) {
    encode();
    // Each block goes to the node whose tasks read it (a union's tasks read
    // one block each), with the generated inputs whole.
    auto read = blocks_read(shuffle, tasks);
    job_set result;
    result.batch_time = batch_.batch_time;
    result.inputs = batch_.inputs;
    for (auto& [id, blocks] : batch_.blocks) {
      auto& out = result.blocks[id];
      for (size_t i = 0; i < blocks.size(); ++i) {
        if (!read || (i < (*read)[id].size() && (*read)[id][i]))
          out.push_back(block_for(blocks[i], node));
        else
          out.push_back(left_out(blocks[i]));
      }
    }
    return result;
  }
  std::vector<bool> wanted;
  for (auto i : tasks) {
    if (wanted.size() <= i)
      wanted.resize(i + 1);
    wanted[i] = true;
  }
  auto needed = [&](size_t i) { return i < wanted.size() && wanted[i]; };
  job_set result;
  result.batch_time = batch_.batch_time;
  for (auto& [id, blocks] : batch_.blocks) {
    auto& out = result.blocks[id];
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (needed(i)) {
        out.push_back(block_for(blocks[i], node));
        continue;
      }
      out.push_back(left_out(blocks[i]));
    }
  }
  // Each node's partitions are made for it alone (from the records, or
  // from the batch's bytes once a node took the inputs whole), so they
  // move into its stage; those the RDD holds are written into the stage's
  // message as it is sent, straight from the records.
  for (const auto& [index, x] : batch_.inputs) {
    auto& out = result.inputs[index];
    out.records = x.records;
    auto encoded = wanted;
    auto held_bytes = [&](size_t i) {
      return x.data && x.write_held != nullptr
               ? x.write_held(x.data.get(), i, nullptr)
               : 0;
    };
    for (size_t i = 0; i < wanted.size(); ++i)
      if (auto size = wanted[i] ? held_bytes(i) : 0; size > 0) {
        out.written_on_send.resize(wanted.size());
        out.written_on_send[i] = size;
        encoded[i] = false;
      }
    if (!out.written_on_send.empty()) {
      out.data = x.data;
      out.encode = x.encode;
      out.write_held = x.write_held;
    }
    out.partitions = x.to_bytes(&encoded);
  }
  return result;
}

bool stage_inputs::carries_records() const {
  if (!batch_.inputs.empty())
    return true;
  for (const auto& [id, blocks] : batch_.blocks)
    for (const auto& b : blocks)
      if (b.data || !b.bytes.empty())
        return true;
  return false;
}

size_t stage_inputs::bytes_in(const job_set& x) {
  size_t result = 0;
  for (const auto& [id, blocks] : x.blocks)
    for (const auto& b : blocks)
      result += b.bytes.size();
  for (const auto& [index, in] : x.inputs) {
    for (const auto& part : in.partitions)
      result += part.size();
    for (auto size : in.written_on_send)
      result += size;
  }
  return result;
}

} // namespace caf_stream::actors
