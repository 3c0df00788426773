#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace caf_stream::ui {

/// Writes metrics in Prometheus' text exposition format (version 0.0.4):
/// each family's `# HELP` and `# TYPE` lines, then its samples. The
/// format is simple enough that prometheus-cpp (a registry, its own
/// threads and HTTP server) would add more than it saves.
class prometheus_writer {
public:
  using labels = std::vector<std::pair<std::string, std::string>>;

  /// Starts the family `name` of `type` ("counter", "gauge", "histogram").
  void family(const std::string& name, const char* type,
              const std::string& help);

  /// One sample of the family started last.
  void sample(const std::string& name, const labels& ls, double value);

  /// The samples of a histogram: `counts[i]` observations fell into the
  /// bucket up to `bounds[i]` (and above `bounds[i - 1]`), `count` in all
  /// (the rest above the last bound); written as cumulative buckets
  /// `name_bucket{le="..."}` up to `le="+Inf"`, then `name_sum` and
  /// `name_count`.
  void histogram(const std::string& name, const labels& ls,
                 const std::vector<double>& bounds,
                 const std::vector<uint64_t>& counts, double sum,
                 uint64_t count);

  const std::string& text() const noexcept {
    return text_;
  }

  /// A label value as the format quotes it: '\', '"' and newlines escaped.
  static std::string escape_label(const std::string& x);

  /// A number as the format writes it: the shortest form that reads back
  /// the same, "+Inf", "-Inf" or "NaN".
  static std::string format_value(double x);

private:
  void write_labels(const labels& ls);

  std::string text_;
};

} // namespace caf_stream::ui
