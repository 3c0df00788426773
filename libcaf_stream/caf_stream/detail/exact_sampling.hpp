#pragma once

// The arithmetic of `rdd::sample_by_key_exact`, which needs no element
// type. Without replacement each record gets a draw in [0, 1) from its
// partition's generator; a key's sample is its `s` records of least rank
// (draw, then partition, then position in the partition): a uniform
// subset of exactly `s`. A first job counts each key's records, a second
// finds the rank of each key's `s`th record among the few whose draws fall
// in a narrow band around `s / n`. With replacement the `s` draws of a
// key are split between the partitions and then between their records,
// binomial by binomial: a multinomial draw of exactly `s`.

#include <cstdint>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

namespace caf_stream::detail {

/// The records `sample_by_key_exact` takes of a key with `n` records at
/// `fraction`: `ceil(n * fraction)`, as Spark's.
int64_t exact_sample_size(int64_t n, double fraction);

/// A record's place in the order a sample without replacement takes
/// records in.
struct sample_rank {
  double draw = 0;
  uint32_t partition = 0;
  uint64_t position = 0;

  friend bool operator<(const sample_rank& x, const sample_rank& y) noexcept {
    return std::tie(x.draw, x.partition, x.position)
           < std::tie(y.draw, y.partition, y.position);
  }
};

/// The draws `[low, high)` of the band in which the `s`th least of `n`
/// uniform draws falls but with a chance of about 1e-9 (six standard
/// deviations of the order statistic, and 1 / n, on each side); `[0, 0)`
/// for `s` 0 and `[1, 1)` for `s` `n` or more, where no draw is in the
/// band.
struct sample_band {
  double low = 0;
  double high = 0;
};

sample_band exact_sample_band(int64_t n, int64_t s);

/// The rank below which a key's `s` records of least rank lie, from the
/// number of its draws `below` its band and the ranks `in_band` (any
/// order); none if the band missed the `s`th record (fewer than `s` draws
/// below `band.high`, or more than `s` below `band.low`).
std::optional<sample_rank> exact_sample_threshold(
  int64_t s, int64_t below, std::vector<sample_rank> in_band,
  const sample_band& band);

/// Splits `s` draws with replacement from the records counted in `counts`
/// (a count per partition) between the partitions: each partition's share
/// is binomial in the draws left, with its records over the records left.
std::vector<int64_t> split_draws(int64_t s, const std::vector<int64_t>& counts,
                                 std::mt19937_64& gen);

/// The copies of a partition's next record of a key whose `draws` are left
/// for its `records` left (a binomial of probability 1 / `records`);
/// counts both down.
int64_t next_copies(int64_t& draws, int64_t& records, std::mt19937_64& gen);

} // namespace caf_stream::detail
