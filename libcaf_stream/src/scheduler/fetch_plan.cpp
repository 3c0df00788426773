#include "caf_stream/scheduler/fetch_plan.hpp"

#include <algorithm>
#include <cstring>

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

std::vector<fetch_plan::request> fetch_plan::next() {
  std::vector<request> result;
  for (auto& [id, x] : sources_) {
    while (x.bucket < x.sizes.size()) {
      auto left = x.sizes[x.bucket] - x.offset;
      if (left == 0) {
        ++x.bucket;
        x.offset = 0;
        continue;
      }
      auto size = std::min(left, chunk_);
      if (in_flight_ > 0 && in_flight_ + size > in_flight_limit_)
        return result;
      result.push_back(request{id, x.bucket, x.offset, size});
      x.offset += size;
      x.in_flight += size;
      in_flight_ += size;
    }
  }
  return result;
}

bool fetch_plan::received(const request& r, const std::string& bytes) {
  auto i = sources_.find(r.source);
  if (i == sources_.end())
    return false;
  auto& x = i->second;
  if (r.bucket >= x.sizes.size() || r.offset + r.size > x.sizes[r.bucket]
      || r.size > x.in_flight)
    throw stream_error(errc::job_failure,
                       "a node answered a fetch of map output that was not "
                       "asked for");
  if (bytes.size() != r.size)
    throw stream_error(errc::job_failure,
                       "a node answered " + std::to_string(bytes.size())
                         + " bytes of map output for a fetch of "
                         + std::to_string(r.size));
  std::memcpy(x.buckets[r.bucket].data() + r.offset, bytes.data(),
              bytes.size());
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
