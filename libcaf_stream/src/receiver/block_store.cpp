#include "caf_stream/receiver/block_store.hpp"

#include <algorithm>
#include <atomic>
#include <random>

namespace caf_stream {

uint64_t block_store::next_id() noexcept {
  // A random start (its upper 32 bits): a node keeps other nodes' copies
  // under their numbers (`stream.receiver.replication` 2), so the numbers
  // of two nodes must not meet.
  static std::atomic<uint64_t> last{[] {
    std::random_device rd;
    return static_cast<uint64_t>(rd()) << 32;
  }()};
  return ++last;
}

void block_store::put(block b, uint64_t owner) {
  auto id = b.id;
  blocks_.insert_or_assign(id, entry{std::move(b), owner, std::nullopt});
}

const block* block_store::find(uint64_t id) const {
  auto i = blocks_.find(id);
  return i != blocks_.end() ? &i->second.b : nullptr;
}

std::optional<std::pair<std::string, uint64_t>>
block_store::read(uint64_t id, uint64_t offset, uint64_t size) {
  auto i = blocks_.find(id);
  if (i == blocks_.end())
    return std::nullopt;
  auto& x = i->second;
  if (!x.bytes)
    x.bytes = x.b.to_bytes();
  const auto& bytes = *x.bytes;
  auto first = std::min<uint64_t>(offset, bytes.size());
  auto n = std::min<uint64_t>(size, bytes.size() - first);
  return std::make_pair(bytes.substr(first, n),
                        static_cast<uint64_t>(bytes.size()));
}

void block_store::release(const std::vector<uint64_t>& ids) {
  for (auto id : ids)
    blocks_.erase(id);
}

size_t block_store::drop_owner(uint64_t owner) {
  auto before = blocks_.size();
  for (auto i = blocks_.begin(); i != blocks_.end();) {
    if (i->second.owner == owner)
      i = blocks_.erase(i);
    else
      ++i;
  }
  return before - blocks_.size();
}

} // namespace caf_stream
