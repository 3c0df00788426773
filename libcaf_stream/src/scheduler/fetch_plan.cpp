#include "caf_stream/scheduler/fetch_plan.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "caf_stream/error.hpp"

namespace caf_stream {

void fetch_plan::add(uint64_t source, const std::vector<uint64_t>& sizes) {
  source_state x;
  x.sizes = sizes;
  x.buckets.resize(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    x.buckets[i].resize(sizes[i]);
    x.missing += sizes[i];
  }
  sources_[source] = std::move(x);
}

namespace {

// The parts of request `r` of a source whose buckets have `sizes` bytes,
// bucket by bucket, without empty ones; none if `r` runs past the source's
// last bucket.
std::optional<std::vector<fetch_plan::part>>
parts_of(const std::vector<uint64_t>& sizes, const fetch_plan::request& r) {
  std::vector<fetch_plan::part> result;
  auto left = r.size;
  auto offset = r.offset;
  for (auto b = r.bucket; left > 0; ++b, offset = 0) {
    if (b >= sizes.size() || offset > sizes[b])
      return std::nullopt;
    auto size = std::min(left, sizes[b] - offset);
    if (size > 0)
      result.push_back(fetch_plan::part{b, offset, size});
    left -= size;
  }
  return result;
}

} // namespace

std::vector<fetch_plan::request> fetch_plan::next() {
  std::vector<request> result;
  for (auto& entry : sources_) {
    auto id = entry.first;
    auto& x = entry.second;
    // Bytes not asked for yet: they start in the next bucket with bytes.
    while (x.missing > x.in_flight) {
      while (x.offset == x.sizes[x.bucket]) {
        ++x.bucket;
        x.offset = 0;
      }
      auto size = std::min(x.missing - x.in_flight, chunk_);
      if (in_flight_ > 0 && in_flight_ + size > in_flight_limit_)
        return result;
      request r{id, x.bucket, x.offset, size};
      // The next bytes follow its last part.
      auto last = parts_of(x.sizes, r)->back();
      x.bucket = last.bucket;
      x.offset = last.offset + last.size;
      result.push_back(r);
      x.in_flight += size;
      in_flight_ += size;
    }
  }
  return result;
}

std::vector<fetch_plan::part> fetch_plan::parts(const request& r) const {
  auto i = sources_.find(r.source);
  if (i == sources_.end())
    return {};
  auto result = parts_of(i->second.sizes, r);
  return result ? std::move(*result) : std::vector<part>{};
}

bool fetch_plan::received(const request& r, const std::string& bytes) {
  auto i = sources_.find(r.source);
  if (i == sources_.end())
    return false;
  auto& x = i->second;
  auto parts = parts_of(x.sizes, r);
  if (r.size > x.in_flight || !parts)
    throw stream_error(errc::job_failure,
                       "a node answered a fetch of map output that was not "
                       "asked for");
  if (bytes.size() != r.size)
    throw stream_error(errc::job_failure,
                       "a node answered " + std::to_string(bytes.size())
                         + " bytes of map output for a fetch of "
                         + std::to_string(r.size));
  size_t at = 0;
  for (const auto& p : *parts) {
    std::memcpy(x.buckets[p.bucket].data() + p.offset, bytes.data() + at,
                p.size);
    at += p.size;
  }
  x.in_flight -= r.size;
  x.missing -= r.size;
  in_flight_ -= r.size;
  return x.missing == 0;
}

bool fetch_plan::complete(uint64_t source) const {
  auto i = sources_.find(source);
  return i != sources_.end() && i->second.missing == 0;
}

std::vector<std::string> fetch_plan::take(uint64_t source) {
  auto i = sources_.find(source);
  if (i == sources_.end())
    return {};
  auto result = std::move(i->second.buckets);
  sources_.erase(i);
  return result;
}

void fetch_plan::drop(uint64_t source) {
  auto i = sources_.find(source);
  if (i == sources_.end())
    return;
  in_flight_ -= i->second.in_flight;
  sources_.erase(i);
}

} // namespace caf_stream
