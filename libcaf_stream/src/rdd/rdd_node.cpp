#include "caf_stream/rdd/rdd_node.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace caf_stream::detail {

namespace {

std::atomic<uint64_t> last_rdd_id{0};

// Writes Spark's `toDebugString` of a lineage into `lines`, as its
// `RDD.toDebugString` lays it out: an RDD's parents follow it, a narrow
// parent under `prefix`, a shuffle's parents each opened by "+-" and their
// number of partitions, indented by one more step.
class debug_lines {
public:
  std::vector<std::string> lines;

  void first(const rdd_node_base& x) {
    auto partitions = partitions_of(x);
    lines.push_back(partitions + " " + self(x));
    children(x, under("", partitions));
  }

private:
  // "[name ]Kind[id] [storage]": Spark's `RDD.toString` without its
  // creation site (C++ has no call site to show), then the storage level.
  static std::string self(const rdd_node_base& x) {
    const auto& node = shown_node(x);
    auto name = node.name();
    std::string result;
    if (!name.empty())
      result = name + " ";
    result += node.kind();
    result += "[" + std::to_string(node.id()) + "] [";
    if (&node != &x)
      result += "Memory Deserialized 1x Replicated";
    return result + "]";
  }

  // "(n)": the number of partitions that opens a line.
  static std::string partitions_of(const rdd_node_base& x) {
    return "(" + std::to_string(x.num_partitions()) + ")";
  }

  // The prefix of the lines under an RDD whose `partitions` stand after
  // `lead`: a "|" under their middle.
  static std::string under(const std::string& lead,
                           const std::string& partitions) {
    auto left = (partitions.size() - 1) / 2;
    return lead + std::string(left, ' ') + "|"
           + std::string(partitions.size() - left, ' ');
  }

  void children(const rdd_node_base& x, const std::string& prefix) {
    const auto& node = shown_node(x);
    auto parents = node.parents();
    auto shuffle = node.is_shuffle();
    for (size_t i = 0; i < parents.size(); ++i)
      child(*parents[i], prefix, shuffle, i + 1 == parents.size());
  }

  void child(const rdd_node_base& x, const std::string& prefix, bool shuffle,
             bool last) {
    if (!shuffle) {
      lines.push_back(prefix + self(x));
      children(x, prefix);
      return;
    }
    // Spark drops the last "|" and the blanks after it.
    auto bar = prefix.find_last_of('|');
    auto open = bar != std::string::npos
                    && prefix.find_first_not_of(' ', bar + 1)
                         == std::string::npos
                  ? prefix.substr(0, bar)
                  : prefix;
    auto partitions = partitions_of(x);
    lines.push_back(open + "+-" + partitions + " " + self(x));
    children(x, under(open + (last ? "  " : "| "), partitions));
  }
};

} // namespace

rdd_node_base::rdd_node_base() noexcept : id_(++last_rdd_id) {
  // nop
}

std::string rdd_node_base::name() const {
  std::lock_guard<std::mutex> guard{name_mtx_};
  return name_;
}

void rdd_node_base::set_name(std::string name) const {
  std::lock_guard<std::mutex> guard{name_mtx_};
  name_ = std::move(name);
}

const rdd_node_base& shown_node(const rdd_node_base& x) {
  if (x.is_cache()) {
    auto parents = x.parents();
    if (parents.size() == 1)
      return shown_node(*parents.front());
  }
  return x;
}

std::string debug_string(const rdd_node_base& x) {
  debug_lines out;
  out.first(x);
  std::string result;
  for (const auto& line : out.lines) {
    if (!result.empty())
      result += '\n';
    result += line;
  }
  return result;
}

} // namespace caf_stream::detail
