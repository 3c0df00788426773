#pragma once

// The checks and helpers behind `rdd<T>`'s operations that need no element
// type: argument checks with Spark's rules, sampling's generators and
// fractions, and histogram buckets.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace caf_stream::detail {

/// Throws `std::invalid_argument` unless `depth` is at least 1 (`action`:
/// "tree_reduce" or "tree_aggregate").
void check_tree_depth(const char* action, int depth);

/// Throws `std::invalid_argument`, naming the operation `what`, unless
/// `fraction` suits `sample`: not negative, and at most 1 without
/// replacement.
void check_sample_fraction(bool with_replacement, double fraction,
                           const char* what = "sample");

/// The upper bounds in (0, 1] of `random_split`'s ranges of draws, the
/// last one 1; throws `std::invalid_argument` for a negative weight or no
/// positive one.
std::vector<double> split_bounds(const std::vector<double>& weights);

/// The fraction `take_sample` samples with to get at least `num` of
/// `total` elements with a probability of 99.99% (Spark's
/// `computeFractionForSampleSize`).
double sample_fraction(size_t num, int64_t total, bool with_replacement);

/// Throws `std::invalid_argument` unless `buckets` has at least two
/// bounds, increasing.
void check_buckets(const std::vector<double>& buckets);

/// The bounds of `count` buckets of equal width from `min` to `max`
/// (`{min, min}` if they are equal). Throws `std::invalid_argument` for no
/// bucket, and `stream_error` unless both are finite and `min` <= `max`
/// (an empty RDD's minimum is +inf and its maximum -inf).
std::vector<double> even_buckets(double min, double max, size_t count);

/// The bucket of `buckets` that `x` falls into: `[b0, b1)`, ..., `[bn-1,
/// bn]`; -1 for none.
ptrdiff_t bucket_of(const std::vector<double>& buckets, double x);

/// Throws `std::invalid_argument` unless `other` has `partitions`
/// partitions (`action`: "zip" or "zip_partitions").
void check_same_partitions(const char* action, size_t partitions,
                           size_t other);

/// Throws the `stream_error` of `zip` on partitions with `left` and
/// `right` elements.
[[noreturn]] void throw_zip_sizes(size_t left, size_t right);

/// A seed from the system's random device.
uint64_t random_seed();

/// The random number generator of partition `index` of an RDD sampled with
/// `seed`: the same each time the partition is computed.
std::mt19937_64 partition_generator(uint64_t seed, size_t index);

} // namespace caf_stream::detail
