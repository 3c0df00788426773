#include "caf_stream/rdd/shuffle_store.hpp"

#include <cstring>
#include <string>
#include <utility>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

[[noreturn]] void throw_missing(uint64_t shuffle, size_t map) {
  throw stream_error(errc::job_failure,
                     "shuffle " + std::to_string(shuffle)
                       + " has no output of map partition "
                       + std::to_string(map) + " on this node");
}

[[noreturn]] void throw_malformed(const std::string& why) {
  throw stream_error(errc::job_failure, "a map output's frame is malformed: "
                                          + why);
}

} // namespace

std::string frame_buckets(const std::vector<std::string>& buckets) {
  std::vector<uint64_t> header;
  header.reserve(buckets.size() + 1);
  header.push_back(buckets.size());
  size_t total = 0;
  for (const auto& b : buckets) {
    header.push_back(b.size());
    total += b.size();
  }
  std::string result;
  result.reserve(header.size() * sizeof(uint64_t) + total);
  result.append(reinterpret_cast<const char*>(header.data()),
                header.size() * sizeof(uint64_t));
  for (const auto& b : buckets)
    result += b;
  return result;
}

std::vector<std::pair<uint64_t, uint64_t>>
bucket_spans(const std::string& frame) {
  auto word = [&](size_t i) {
    uint64_t x = 0;
    std::memcpy(&x, frame.data() + i * sizeof(uint64_t), sizeof(uint64_t));
    return x;
  };
  if (frame.size() < sizeof(uint64_t))
    throw_malformed(std::to_string(frame.size()) + " bytes hold no count");
  auto n = word(0);
  if (n > frame.size() / sizeof(uint64_t) - 1)
    throw_malformed(std::to_string(n) + " buckets cannot fit in "
                    + std::to_string(frame.size()) + " bytes");
  std::vector<std::pair<uint64_t, uint64_t>> result;
  result.reserve(n);
  uint64_t offset = (n + 1) * sizeof(uint64_t);
  for (size_t i = 0; i < n; ++i) {
    auto size = word(i + 1);
    if (size > frame.size() - offset)
      throw_malformed("bucket " + std::to_string(i) + " of "
                      + std::to_string(size) + " bytes ends past the "
                      + std::to_string(frame.size()) + " bytes");
    result.emplace_back(offset, size);
    offset += size;
  }
  if (offset != frame.size())
    throw_malformed(std::to_string(frame.size() - offset)
                    + " bytes follow the last bucket");
  return result;
}

shuffle_store& shuffle_store::local() {
  // Never destroyed: an RDD in a static outlives every other static.
  static auto* store = new shuffle_store;
  return *store;
}

void shuffle_store::put(uint64_t shuffle, size_t map, map_output x) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& maps = outputs_[shuffle];
  if (maps.size() <= map)
    maps.resize(map + 1);
  maps[map] = std::move(x);
}

std::vector<shuffle_store::map_output>
shuffle_store::outputs(uint64_t shuffle, size_t n) const {
  if (n == 0)
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = outputs_.find(shuffle);
  if (i == outputs_.end())
    throw_missing(shuffle, 0);
  const auto& maps = i->second;
  for (size_t map = 0; map < n; ++map)
    if (map >= maps.size() || !maps[map].buckets)
      throw_missing(shuffle, map);
  return {maps.begin(), maps.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::string shuffle_store::bucket_bytes(const shuffle_block_id& id) const {
  map_output x;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = outputs_.find(id.shuffle);
    if (i == outputs_.end() || id.map >= i->second.size()
        || !i->second[id.map].buckets)
      throw_missing(id.shuffle, id.map);
    x = i->second[id.map];
  }
  if (id.reduce >= x.num_buckets)
    throw stream_error(errc::job_failure,
                       "shuffle " + std::to_string(id.shuffle) + " has "
                         + std::to_string(x.num_buckets)
                         + " reduce partitions, not "
                         + std::to_string(id.reduce + 1));
  if (x.encode == nullptr)
    throw stream_error(errc::illegal_state,
                       "fetching a bucket of shuffle "
                         + std::to_string(id.shuffle)
                         + ": the records' type has no Boost.Serialization "
                           "`serialize`, so they cannot leave this node");
  return x.encode(x.buckets.get(), id.reduce);
}

void shuffle_store::remove(uint64_t shuffle) {
  std::lock_guard<std::mutex> guard{mtx_};
  outputs_.erase(shuffle);
}

size_t shuffle_store::num_shuffles() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return outputs_.size();
}

} // namespace caf_stream::detail
