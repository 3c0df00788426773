#include "caf_stream/detail/rdd_operations.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

// "0.5", "1.5", "nan": a number in a message.
std::string number_text(double x) {
  auto result = std::to_string(x);
  if (result.find('.') != std::string::npos) {
    result.erase(result.find_last_not_of('0') + 1);
    if (result.back() == '.')
      result.pop_back();
  }
  return result;
}

} // namespace

void check_tree_depth(const char* action, int depth) {
  if (depth < 1)
    throw std::invalid_argument(std::string{action}
                                + ": the depth must be at least 1, not "
                                + std::to_string(depth));
}

void check_sample_fraction(bool with_replacement, double fraction,
                           const char* what) {
  if (!(fraction >= 0) || std::isinf(fraction))
    throw std::invalid_argument(std::string{what}
                                + ": the fraction must be a nonnegative "
                                  "number, not "
                                + number_text(fraction));
  if (!with_replacement && fraction > 1)
    throw std::invalid_argument(std::string{what}
                                + ": without replacement the fraction is a "
                                  "probability, at most 1, not "
                                + number_text(fraction));
}

std::vector<double> split_bounds(const std::vector<double>& weights) {
  double total = 0;
  for (auto w : weights) {
    if (!(w >= 0) || std::isinf(w))
      throw std::invalid_argument("random_split: the weights must be "
                                  "nonnegative numbers, not "
                                  + number_text(w));
    total += w;
  }
  if (!(total > 0))
    throw std::invalid_argument("random_split: the weights must add up to "
                                "more than 0");
  std::vector<double> result;
  double sum = 0;
  for (auto w : weights) {
    sum += w;
    result.push_back(sum / total);
  }
  result.back() = 1.0;
  return result;
}

double sample_fraction(size_t num, int64_t total, bool with_replacement) {
  auto n = static_cast<double>(num);
  auto m = static_cast<double>(total);
  if (with_replacement) {
    // A Poisson count with mean n + k * sqrt(n) falls below n with a
    // probability under 1e-4 (k = 9 for small n).
    auto k = num < 12 ? 9.0 : 5.0;
    return std::max(n + k * std::sqrt(n), 1e-10) / m;
  }
  // The Bernoulli sample's size falls below n with a probability under
  // delta (a Chernoff bound).
  auto fraction = n / m;
  auto gamma = -std::log(1e-4) / m;
  return std::min(1.0, std::max(1e-10, fraction + gamma
                                         + std::sqrt(gamma * gamma
                                                     + 2 * gamma * fraction)));
}

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

std::mt19937_64 partition_generator(uint64_t seed, size_t index) {
  auto i = static_cast<uint64_t>(index);
  std::seed_seq seq{static_cast<uint32_t>(seed),
                    static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32)};
  return std::mt19937_64{seq};
}

void check_buckets(const std::vector<double>& buckets) {
  if (buckets.size() < 2)
    throw std::invalid_argument("histogram: the buckets need at least two "
                                "bounds, not "
                                + std::to_string(buckets.size()));
  for (size_t i = 0; i < buckets.size(); ++i)
    if (std::isnan(buckets[i]) || (i > 0 && !(buckets[i - 1] < buckets[i])))
      throw std::invalid_argument("histogram: the bucket bounds must "
                                  "increase, but bound "
                                  + std::to_string(i) + " is "
                                  + number_text(buckets[i]));
}

std::vector<double> even_buckets(double min, double max, size_t count) {
  if (count == 0)
    throw std::invalid_argument("histogram: the number of buckets must be "
                                "positive");
  if (!std::isfinite(min) || !std::isfinite(max) || min > max)
    throw stream_error(errc::illegal_state,
                       "histogram: an empty RDD, or one that holds an "
                       "infinity or NaN, has no range to divide into "
                       "buckets");
  if (min == max)
    return {min, min};
  std::vector<double> result;
  auto span = max - min;
  for (size_t i = 0; i < count; ++i)
    result.push_back(min + static_cast<double>(i) * span
                             / static_cast<double>(count));
  result.push_back(max);
  return result;
}

ptrdiff_t bucket_of(const std::vector<double>& buckets, double x) {
  if (std::isnan(x) || x < buckets.front() || x > buckets.back())
    return -1;
  if (x == buckets.back())
    return static_cast<ptrdiff_t>(buckets.size()) - 2;
  auto i = std::upper_bound(buckets.begin(), buckets.end(), x);
  return (i - buckets.begin()) - 1;
}

void check_same_partitions(const char* action, size_t partitions,
                           size_t other) {
  if (partitions != other)
    throw std::invalid_argument(std::string{action}
                                + ": the RDDs must have as many partitions, "
                                  "but have "
                                + std::to_string(partitions) + " and "
                                + std::to_string(other));
}

void throw_zip_sizes(size_t left, size_t right) {
  throw stream_error(errc::job_failure,
                     "zip: partitions with the same index must have as many "
                     "elements, but one has "
                       + std::to_string(left) + " and the other "
                       + std::to_string(right));
}

} // namespace caf_stream::detail
