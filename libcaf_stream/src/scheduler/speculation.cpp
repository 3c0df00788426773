#include "caf_stream/scheduler/speculation.hpp"

#include <algorithm>

namespace caf_stream {

void speculation::sent(uint64_t id, clock::time_point now, size_t rounds) {
  waiting_.emplace(id, waiting{now, std::max<size_t>(1, rounds)});
}

void speculation::answered(uint64_t id, clock::time_point now) {
  auto i = waiting_.find(id);
  if (i == waiting_.end())
    return;
  auto rounds = static_cast<clock::rep>(i->second.rounds);
  took_.push_back((now - i->second.since) / rounds);
  waiting_.erase(i);
}

void speculation::dropped(uint64_t id) {
  waiting_.erase(id);
}

std::optional<speculation::clock::duration> speculation::round_bound() const {
  if (took_.empty() || took_.size() < waiting_.size())
    return std::nullopt;
  auto xs = took_;
  auto mid = xs.begin() + static_cast<ptrdiff_t>(xs.size() / 2);
  std::nth_element(xs.begin(), mid, xs.end());
  return std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double, clock::period>(
      static_cast<double>(mid->count()) * multiplier_));
}

speculation::clock::time_point
speculation::due(const waiting& x, clock::duration per_round) const {
  auto rounds = static_cast<clock::rep>(x.rounds);
  return x.since + std::max(per_round * rounds, min_wait_);
}

std::vector<uint64_t> speculation::late(clock::time_point now) const {
  std::vector<std::pair<clock::time_point, uint64_t>> xs;
  if (auto per_round = round_bound())
    for (const auto& [id, x] : waiting_)
      if (now > due(x, *per_round))
        xs.emplace_back(x.since, id);
  std::sort(xs.begin(), xs.end());
  std::vector<uint64_t> result;
  for (const auto& x : xs)
    result.push_back(x.second);
  return result;
}

std::optional<speculation::clock::duration>
speculation::until_late(clock::time_point now) const {
  auto per_round = round_bound();
  if (!per_round || waiting_.empty())
    return std::nullopt;
  auto first = due(waiting_.begin()->second, *per_round);
  for (const auto& [id, x] : waiting_)
    first = std::min(first, due(x, *per_round));
  return first > now ? first - now : clock::duration::zero();
}

} // namespace caf_stream
