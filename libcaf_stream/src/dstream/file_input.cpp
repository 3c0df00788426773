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

// Modification time in milliseconds since the Unix epoch, or -1.
int64_t mod_time_ms(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000
         + st.st_mtim.tv_nsec / 1000000;
}

} // namespace

file_selection::file_selection(std::string directory, duration slide,
                               duration min_remember, filter_type filter,
                               bool new_files_only, const char* name)
  : directory_(std::move(directory)),
    filter_(std::move(filter)),
    new_files_only_(new_files_only),
    name_(name) {
  // Spark remembers selections for ceil(min_remember / batch) batches.
  auto n = (min_remember.count() + slide.count() - 1) / slide.count();
  remember_ = slide * n;
  if (!fs::is_directory(directory_))
    throw stream_error(errc::source_failure,
                       std::string{name_} + ": '" + directory_
                         + "' is not a directory");
}

std::vector<std::string> file_selection::find_new_files(time t,
                                                        time start) const {
  // Files modified before the remember window are ignored, and with
  // `new_files_only` those modified up to the start (Spark's
  // `initialModTimeIgnoreThreshold`); those in the window are ignored once
  // selected.
  auto threshold = t - remember_;
  if (new_files_only_)
    threshold = std::max(start, threshold);
  std::vector<std::string> result;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    auto name = entry.path().filename().string();
    auto path = entry.path().string();
    if (filter_ ? !filter_(path) : name.empty() || name.front() == '.')
      continue;
    auto mtime = mod_time_ms(path);
    if (mtime < 0 || mtime <= threshold.milliseconds()
        || mtime > t.milliseconds() || recent_.count(path) > 0)
      continue;
    result.push_back(std::move(path));
  }
  if (ec)
    throw stream_error(errc::source_failure,
                       std::string{name_} + ": cannot list '" + directory_
                         + "': " + ec.message());
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::string> file_selection::next(time t, time start,
                                              duration remember) {
  // Forget selections that fell out of the remember window (or, if longer,
  // out of the windows built on this stream: recovery recomputes them).
  auto horizon = t - std::max(remember_, remember);
  for (auto i = selected_.begin(); i != selected_.end() && i->first < horizon;
       i = selected_.erase(i))
    for (auto& f : i->second)
      recent_.erase(f);
  std::vector<std::string> files;
  if (auto i = replay_.find(t); i != replay_.end()) {
    files = std::move(i->second);
    replay_.erase(i);
  } else {
    files = find_new_files(t, start);
  }
  replay_.erase(replay_.begin(), replay_.upper_bound(t));
  for (auto& f : files)
    recent_.insert(f);
  selected_[t] = files;
  return files;
}

std::string file_selection::checkpoint_positions() const {
  std::vector<std::pair<int64_t, std::vector<std::string>>> xs;
  for (auto& [t, files] : selected_)
    xs.emplace_back(t.milliseconds(), files);
  return to_bytes(xs);
}

std::vector<std::pair<time, std::vector<std::string>>>
file_selection::restore_positions(const std::string& bytes) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> xs;
  from_bytes(bytes, xs);
  std::vector<std::pair<time, std::vector<std::string>>> result;
  for (auto& [ms, files] : xs) {
    for (auto& f : files)
      recent_.insert(f);
    // Batches before the restart are not run again.
    selected_[time{ms}] = files;
    replay_[time{ms}] = files;
    result.emplace_back(time{ms}, std::move(files));
  }
  return result;
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
