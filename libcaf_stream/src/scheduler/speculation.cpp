#include "caf_stream/scheduler/speculation.hpp"

#include <algorithm>

namespace caf_stream {

void speculation::sent(uint64_t id, clock::time_point now) {
  waiting_.emplace(id, now);
}

void speculation::answered(uint64_t id, clock::time_point now) {
  auto i = waiting_.find(id);
  if (i == waiting_.end())
    return;
  took_.push_back(now - i->second);
  waiting_.erase(i);
}

void speculation::dropped(uint64_t id) {
  waiting_.erase(id);
}

std::optional<speculation::clock::duration> speculation::bound() const {
  if (took_.empty() || took_.size() < waiting_.size())
    return std::nullopt;
  auto xs = took_;
  auto mid = xs.begin() + static_cast<ptrdiff_t>(xs.size() / 2);
  std::nth_element(xs.begin(), mid, xs.end());
  auto scaled = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double, clock::period>(
      static_cast<double>(mid->count()) * multiplier_));
  return std::max(scaled, min_wait_);
}

std::vector<uint64_t> speculation::late(clock::time_point now) const {
  std::vector<std::pair<clock::time_point, uint64_t>> xs;
  if (auto limit = bound())
    for (const auto& [id, since] : waiting_)
      if (now - since > *limit)
        xs.emplace_back(since, id);
  std::sort(xs.begin(), xs.end());
  std::vector<uint64_t> result;
  for (const auto& x : xs)
    result.push_back(x.second);
  return result;
}

std::optional<speculation::clock::duration>
speculation::until_late(clock::time_point now) const {
  auto limit = bound();
  if (!limit || waiting_.empty())
    return std::nullopt;
  auto oldest = waiting_.begin()->second;
  for (const auto& [id, since] : waiting_)
    oldest = std::min(oldest, since);
  auto due = oldest + *limit;
  return due > now ? due - now : clock::duration::zero();
}

} // namespace caf_stream
