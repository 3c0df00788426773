#include "caf_stream/rdd/approximate_evaluator.hpp"

#include <cmath>
#include <iomanip>
#include <limits>

#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace caf_stream {

std::ostream& operator<<(std::ostream& out, const bounded_double& x) {
  auto flags = out.flags();
  auto precision = out.precision();
  out << std::fixed << std::setprecision(3) << '[' << x.low << ", " << x.high
      << ']';
  out.flags(flags);
  out.precision(precision);
  return out;
}

} // namespace caf_stream

namespace caf_stream::detail {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

// Quantiles of the discrete distributions as Commons Math (Spark's) has
// them: the least count whose distribution function reaches `q`.
using least_count = boost::math::policies::policy<
  boost::math::policies::discrete_quantile<
    boost::math::policies::integer_round_up>>;

// The quantile of `dist` at `q`: 0 at 0, and no bound at 1.
template <class Distribution>
double count_quantile(const Distribution& dist, double q) {
  if (q <= 0)
    return 0;
  if (q >= 1)
    return infinity;
  return boost::math::quantile(dist, q);
}

// The half-width of an interval at `confidence` in standard errors of a
// mean of `count` numbers: Student's t with `count - 1` degrees of freedom,
// the normal distribution above 100 numbers.
double confidence_factor(int64_t count, double confidence) {
  auto q = (1 + confidence) / 2;
  if (q >= 1)
    return infinity;
  if (count > 100)
    return boost::math::quantile(boost::math::normal{}, q);
  auto freedom = static_cast<double>(count - 1);
  return boost::math::quantile(boost::math::students_t{freedom}, q);
}

} // namespace

bounded_double count_evaluator::current_result() const {
  if (merged_ == total_) {
    auto n = static_cast<double>(sum_);
    return {n, 1.0, n, n};
  }
  if (merged_ == 0 || sum_ == 0)
    return {0, 0.0, 0.0, infinity};
  auto p = static_cast<double>(merged_) / static_cast<double>(total_);
  return bound(confidence_, sum_, p);
}

bounded_double count_evaluator::bound(double confidence, int64_t sum,
                                      double p) {
  auto n = static_cast<double>(sum);
  auto interval = [&](const auto& dist) {
    return bounded_double{n + boost::math::mean(dist), confidence,
                          n + count_quantile(dist, (1 - confidence) / 2),
                          n + count_quantile(dist, (1 + confidence) / 2)};
  };
  if (sum <= 10000)
    return interval(
      boost::math::negative_binomial_distribution<double, least_count>{n, p});
  return interval(
    boost::math::poisson_distribution<double, least_count>{n * (1 - p) / p});
}

bounded_double sum_evaluator::current_result() const {
  if (merged_ == total_)
    return {counter_.sum(), 1.0, counter_.sum(), counter_.sum()};
  if (merged_ == 0 || counter_.count() == 0)
    return {0, 0.0, -infinity, infinity};
  auto p = static_cast<double>(merged_) / static_cast<double>(total_);
  auto count = static_cast<double>(counter_.count());
  auto mean = counter_.mean();
  auto count_estimate = (count + 1 - p) / p;
  auto sum_estimate = mean * count_estimate;
  auto mean_var = counter_.sample_variance() / count;
  // One number has no variance (and NaN none that bounds anything).
  if (std::isnan(mean_var) || counter_.count() == 1)
    return {sum_estimate, confidence_, -infinity, infinity};
  auto count_var = (count + 1) * (1 - p) / (p * p);
  auto sum_var = mean * mean * count_var
                 + count_estimate * count_estimate * mean_var
                 + mean_var * count_var;
  auto half = confidence_factor(counter_.count(), confidence_)
              * std::sqrt(sum_var);
  return {sum_estimate, confidence_, sum_estimate - half,
          sum_estimate + half};
}

bounded_double mean_evaluator::current_result() const {
  if (merged_ == total_)
    return {counter_.mean(), 1.0, counter_.mean(), counter_.mean()};
  if (merged_ == 0 || counter_.count() == 0)
    return {0, 0.0, -infinity, infinity};
  auto mean = counter_.mean();
  if (counter_.count() == 1)
    return {mean, confidence_, -infinity, infinity};
  auto count = static_cast<double>(counter_.count());
  auto half = confidence_factor(counter_.count(), confidence_)
              * std::sqrt(counter_.sample_variance() / count);
  return {mean, confidence_, mean - half, mean + half};
}

} // namespace caf_stream::detail
