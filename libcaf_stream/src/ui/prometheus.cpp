#include "caf_stream/ui/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace caf_stream::ui {

void prometheus_writer::family(const std::string& name, const char* type,
                               const std::string& help) {
  text_ += "# HELP " + name + " ";
  for (auto c : help) {
    if (c == '\\')
      text_ += "\\\\";
    else if (c == '\n')
      text_ += "\\n";
    else
      text_ += c;
  }
  text_ += "\n# TYPE " + name + " " + type + "\n";
}

void prometheus_writer::sample(const std::string& name, const labels& ls,
                               double value) {
  text_ += name;
  write_labels(ls);
  text_ += " " + format_value(value) + "\n";
}

void prometheus_writer::histogram(const std::string& name, const labels& ls,
                                  const std::vector<double>& bounds,
                                  const std::vector<uint64_t>& counts,
                                  double sum, uint64_t count) {
  uint64_t cumulative = 0;
  auto bucket = [&](const std::string& le) {
    auto with_le = ls;
    with_le.emplace_back("le", le);
    sample(name + "_bucket", with_le, static_cast<double>(cumulative));
  };
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    bucket(format_value(bounds[i]));
  }
  cumulative = count;
  bucket("+Inf");
  sample(name + "_sum", ls, sum);
  sample(name + "_count", ls, static_cast<double>(count));
}

std::string prometheus_writer::escape_label(const std::string& x) {
  std::string result;
  for (auto c : x) {
    if (c == '\\')
      result += "\\\\";
    else if (c == '"')
      result += "\\\"";
    else if (c == '\n')
      result += "\\n";
    else
      result += c;
  }
  return result;
}

std::string prometheus_writer::format_value(double x) {
  if (std::isnan(x))
    return "NaN";
  if (std::isinf(x))
    return x > 0 ? "+Inf" : "-Inf";
  // The shortest form that reads back the same ("100", "0.0005"), in plain
  // digits unless the number is tiny or huge ("1e-05").
  char buf[64];
  auto plain = std::abs(x) >= 1e-4 && std::abs(x) < 1e16;
  auto result = plain ? std::to_chars(buf, buf + sizeof(buf), x,
                                      std::chars_format::fixed)
                      : std::to_chars(buf, buf + sizeof(buf), x);
  return std::string{buf, result.ptr};
}

void prometheus_writer::write_labels(const labels& ls) {
  if (ls.empty())
    return;
  text_ += "{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0)
      text_ += ",";
    text_ += ls[i].first + "=\"" + escape_label(ls[i].second) + "\"";
  }
  text_ += "}";
}

} // namespace caf_stream::ui
