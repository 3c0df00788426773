#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace caf_stream::detail {

/// A HyperLogLog sketch (Flajolet et al.) of the distinct values it was
/// given as hashes: `rdd::count_approx_distinct`'s, one per partition's
/// task, merged on the calling side. 2^p registers of one byte; the
/// estimate's relative standard deviation is about 1.04 / sqrt(2^p), and
/// small counts are counted linearly (the empty registers).
class hyper_log_log {
public:
  /// The most registers a sketch has: 2^20, a MiB per task.
  static constexpr int max_precision = 20;

  /// The precision p for a relative standard deviation `relative_sd`, as
  /// Spark computes it: ceil(2 * log2(1.054 / relative_sd)), at least 4.
  /// Throws `std::invalid_argument` unless `relative_sd` is greater than
  /// 0.000017, as Spark's. May exceed `max_precision`.
  static int precision_for(double relative_sd);

  /// A sketch with 2^`precision` registers (4 to `max_precision`).
  explicit hyper_log_log(int precision);

  /// Adds a value by its hash (mixed here: `std::hash` of an integer is
  /// the integer).
  void add(uint64_t hash) noexcept;

  /// Adds what `other`, of the same precision, holds.
  void merge(const hyper_log_log& other) noexcept;

  /// The estimated number of distinct values added.
  int64_t estimate() const;

private:
  int p_;
  std::vector<uint8_t> registers_;
};

} // namespace caf_stream::detail
