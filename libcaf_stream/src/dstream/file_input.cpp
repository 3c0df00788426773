#include "caf_stream/dstream/file_input.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

namespace fs = std::filesystem;

/// One partition per file; the lines (or the records of `record_length`
/// bytes) are read in the partition's task.
class text_files_node final : public rdd_node<std::string> {
public:
  text_files_node(std::vector<std::string> files, size_t record_length)
    : files_(std::move(files)), record_length_(record_length) {
    // nop
  }

  size_t num_partitions() const override {
    return files_.size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index, sink out) const override {
    for (const auto& x : materialize(index))
      out(x);
  }

  std::vector<std::string> materialize(size_t index) const override {
    return record_length_ == 0 ? read_lines(files_[index])
                               : read_records(files_[index], record_length_);
  }

private:
  std::vector<std::string> files_;
  size_t record_length_;
};

// Modification time in milliseconds since the Unix epoch, or -1.
int64_t mod_time_ms(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000
         + st.st_mtim.tv_nsec / 1000000;
}

} // namespace

file_input_node::file_input_node(dstream_graph& graph, duration slide,
                                 std::string directory, size_t record_length)
  : generated_input_node<std::string>(graph, slide),
    directory_(std::move(directory)),
    record_length_(record_length) {
  // Spark remembers selections for ceil(60 s / batch) batches.
  auto n = (min_remember_duration.count() + slide.count() - 1) / slide.count();
  remember_ = slide * n;
  if (!fs::is_directory(directory_))
    throw stream_error(errc::source_failure,
                       std::string{name()} + ": '" + directory_
                         + "' is not a directory");
}

std::vector<std::string> file_input_node::find_new_files(time t) {
  // Files modified up to the start (new files only, as Spark's
  // `initialModTimeIgnoreThreshold`) or before the remember window are
  // ignored; those in the window are ignored once selected.
  auto threshold = std::max(graph().start_time(), t - remember_);
  std::vector<std::string> result;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.front() == '.')
      continue;
    auto path = entry.path().string();
    auto mtime = mod_time_ms(path);
    if (mtime < 0 || mtime <= threshold.milliseconds()
        || mtime > t.milliseconds() || recent_.count(path) > 0)
      continue;
    result.push_back(std::move(path));
  }
  if (ec)
    throw stream_error(errc::source_failure,
                       std::string{name()} + ": cannot list '" + directory_
                         + "': " + ec.message());
  std::sort(result.begin(), result.end());
  return result;
}

std::pair<rdd<std::string>, int64_t> file_input_node::next(time t) {
  // Forget selections that fell out of the remember window (or, if longer,
  // out of the windows built on this stream: recovery recomputes them).
  auto horizon = t - std::max(remember_, remember_duration());
  for (auto i = selected_.begin(); i != selected_.end() && i->first < horizon;
       i = selected_.erase(i))
    for (auto& f : i->second)
      recent_.erase(f);
  std::vector<std::string> files;
  if (auto i = replay_.find(t); i != replay_.end()) {
    files = std::move(i->second);
    replay_.erase(i);
  } else {
    files = find_new_files(t);
  }
  replay_.erase(replay_.begin(), replay_.upper_bound(t));
  for (auto& f : files)
    recent_.insert(f);
  selected_[t] = files;
  return {files_rdd(std::move(files)), 0};
}

rdd<std::string>
file_input_node::files_rdd(std::vector<std::string> files) const {
  return rdd<std::string>{
    std::make_shared<text_files_node>(std::move(files), record_length_)};
}

std::string file_input_node::checkpoint_positions(time) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> xs;
  for (auto& [t, files] : selected_)
    xs.emplace_back(t.milliseconds(), files);
  return to_bytes(xs);
}

void file_input_node::restore_positions(const std::string& bytes) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> xs;
  from_bytes(bytes, xs);
  for (auto& [ms, files] : xs) {
    for (auto& f : files)
      recent_.insert(f);
    // Batches before the restart are not run again, but windows that reach
    // back to them read their files again, as Spark's FileInputDStream.
    restore_fixed(time{ms}, files_rdd(files));
    selected_[time{ms}] = files;
    replay_[time{ms}] = std::move(files);
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw stream_error(errc::source_failure,
                       "cannot read '" + path + "': " + std::strerror(errno));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad())
    throw stream_error(errc::source_failure, "error reading '" + path + "'");
  return lines;
}

std::vector<std::string> read_records(const std::string& path, size_t length) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw stream_error(errc::source_failure,
                       "cannot read '" + path + "': " + std::strerror(errno));
  std::string bytes{std::istreambuf_iterator<char>{in},
                    std::istreambuf_iterator<char>{}};
  if (in.bad())
    throw stream_error(errc::source_failure, "error reading '" + path + "'");
  if (bytes.size() % length != 0)
    throw stream_error(errc::source_failure,
                       "binary_records_stream: '" + path + "' holds "
                         + std::to_string(bytes.size())
                         + " bytes, which is not a multiple of the record "
                           "length "
                         + std::to_string(length));
  std::vector<std::string> records;
  records.reserve(bytes.size() / length);
  for (size_t i = 0; i < bytes.size(); i += length)
    records.push_back(bytes.substr(i, length));
  return records;
}

} // namespace caf_stream::detail
