#include "caf_stream/rdd/rdd.hpp"

#include <cmath>
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

void throw_empty_collection(const char* action) {
  throw stream_error(errc::illegal_state,
                     std::string{action} + ": empty collection");
}

void throw_malformed_partition(size_t index, const char* why) {
  throw stream_error(errc::job_failure,
                     "partition " + std::to_string(index)
                       + ", which a worker node computed, is malformed (does "
                         "the node run the same program?): "
                       + why);
}

void check_tree_depth(const char* action, int depth) {
  if (depth < 1)
    throw std::invalid_argument(std::string{action}
                                + ": the depth must be at least 1, not "
                                + std::to_string(depth));
}

void check_sample_fraction(bool with_replacement, double fraction) {
  if (!(fraction >= 0) || std::isinf(fraction))
    throw std::invalid_argument("sample: the fraction must be a nonnegative "
                                "number, not "
                                + number_text(fraction));
  if (!with_replacement && fraction > 1)
    throw std::invalid_argument("sample: without replacement the fraction "
                                "is a probability, at most 1, not "
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
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32)};
  return std::mt19937_64{seq};
}

} // namespace caf_stream::detail
