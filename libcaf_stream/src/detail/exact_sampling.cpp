#include "caf_stream/detail/exact_sampling.hpp"

#include <algorithm>
#include <cmath>

namespace caf_stream::detail {

int64_t exact_sample_size(int64_t n, double fraction) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(n) * fraction));
}

sample_band exact_sample_band(int64_t n, int64_t s) {
  if (s <= 0)
    return {0, 0};
  if (s >= n)
    return {1, 1};
  auto q = static_cast<double>(s) / static_cast<double>(n);
  auto margin = 6 * std::sqrt(q * (1 - q) / static_cast<double>(n))
                + 1 / static_cast<double>(n);
  return {std::max(0.0, q - margin), std::min(1.0, q + margin)};
}

std::optional<sample_rank> exact_sample_threshold(
  int64_t s, int64_t below, std::vector<sample_rank> in_band,
  const sample_band& band) {
  auto wanted = s - below;
  if (wanted < 0 || wanted > static_cast<int64_t>(in_band.size()))
    return std::nullopt;
  if (wanted == static_cast<int64_t>(in_band.size()))
    return sample_rank{band.high, 0, 0};
  auto nth = in_band.begin() + wanted;
  std::nth_element(in_band.begin(), nth, in_band.end());
  return *nth;
}

std::vector<int64_t> split_draws(int64_t s, const std::vector<int64_t>& counts,
                                 std::mt19937_64& gen) {
  int64_t records = 0;
  for (auto c : counts)
    records += c;
  std::vector<int64_t> result(counts.size(), 0);
  for (size_t i = 0; i < counts.size() && s > 0 && records > 0; ++i) {
    if (counts[i] == records) {
      result[i] = s;
    } else if (counts[i] > 0) {
      auto p = static_cast<double>(counts[i]) / static_cast<double>(records);
      result[i] = std::binomial_distribution<int64_t>{s, p}(gen);
    }
    s -= result[i];
    records -= counts[i];
  }
  return result;
}

int64_t next_copies(int64_t& draws, int64_t& records, std::mt19937_64& gen) {
  if (records <= 0)
    return 0;
  int64_t copies = 0;
  if (records == 1)
    copies = std::max(draws, int64_t{0});
  else if (draws > 0)
    copies = std::binomial_distribution<int64_t>{
      draws, 1 / static_cast<double>(records)}(gen);
  draws -= copies;
  --records;
  return copies;
}

} // namespace caf_stream::detail
