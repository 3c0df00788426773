#include "caf_stream/text.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace fs = std::filesystem;

std::string format_print_block(int64_t batch_ms,
                               const std::vector<std::string>& first,
                               size_t num) {
  std::string out = "-------------------------------------------\nTime: ";
  out += std::to_string(batch_ms);
  out += " ms\n-------------------------------------------\n";
  for (size_t i = 0; i < first.size() && i < num; ++i) {
    out += first[i];
    out += '\n';
  }
  if (first.size() > num)
    out += "...\n";
  out += '\n';
  return out;
}

std::string batch_file_name(const std::string& prefix,
                            const std::string& suffix, int64_t batch_ms) {
  auto ms = std::to_string(batch_ms);
  if (prefix.empty())
    return ms;
  if (suffix.empty())
    return prefix + "-" + ms;
  return prefix + "-" + ms + "." + suffix;
}

namespace {

// The output directories being written, for `remove_temporary_outputs`.
std::mutex temporary_outputs_mtx;
std::set<std::string> temporary_outputs;

} // namespace

namespace {

// Spark's part file names: part-00000, part-00001, ...
std::string part_path(const std::string& dir, size_t index) {
  auto digits = std::to_string(index);
  if (digits.size() < 5)
    digits.insert(0, 5 - digits.size(), '0');
  return (fs::path{dir} / ("part-" + digits)).string();
}

} // namespace

output_dir::output_dir(std::string final_dir, std::string what, bool replace)
  : final_(std::move(final_dir)), what_(std::move(what)), replace_(replace) {
  std::error_code ec;
  if (!replace && fs::exists(final_, ec))
    throw stream_error(errc::job_failure, what_ + ": the output directory '"
                                            + final_ + "' already exists");
  fs::path final_path{final_};
  tmp_ = (final_path.parent_path()
          / ("." + final_path.filename().string() + ".tmp"))
           .string();
  {
    std::lock_guard<std::mutex> guard{temporary_outputs_mtx};
    temporary_outputs.insert(tmp_);
  }
  fs::remove_all(tmp_, ec);
  fs::create_directories(tmp_, ec);
  if (ec) {
    std::lock_guard<std::mutex> guard{temporary_outputs_mtx};
    temporary_outputs.erase(tmp_);
    throw stream_error(errc::job_failure, what_ + ": cannot create '" + tmp_
                                            + "': " + ec.message());
  }
}

output_dir::~output_dir() {
  std::error_code ec;
  if (!committed_)
    fs::remove_all(tmp_, ec);
  std::lock_guard<std::mutex> guard{temporary_outputs_mtx};
  temporary_outputs.erase(tmp_);
}

void output_dir::write_lines(size_t index,
                             const std::vector<std::string>& lines) const {
  auto path = part_path(tmp_, index);
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  for (const auto& line : lines) {
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.put('\n');
  }
  out.flush();
  if (!out)
    throw stream_error(errc::job_failure,
                       what_ + ": cannot write '" + path + "'");
}

void output_dir::write_bytes(size_t index, const std::string& bytes) const {
  auto path = part_path(tmp_, index);
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out)
    throw stream_error(errc::job_failure,
                       what_ + ": cannot write '" + path + "'");
}

void output_dir::commit() {
  std::ofstream{(fs::path{tmp_} / "_SUCCESS").string()};
  std::error_code ec;
  if (replace_)
    fs::remove_all(final_, ec);
  fs::rename(tmp_, final_, ec);
  if (ec)
    throw stream_error(errc::job_failure, what_ + ": cannot move '" + tmp_
                                            + "' to '" + final_
                                            + "': " + ec.message());
  committed_ = true;
}

void remove_temporary_outputs() noexcept {
  std::lock_guard<std::mutex> guard{temporary_outputs_mtx};
  for (const auto& x : temporary_outputs) {
    std::error_code ec;
    fs::remove_all(x, ec);
  }
}

std::vector<std::pair<std::string, std::string>>
read_part_files(const std::string& dir, const char* what) {
  if (!fs::is_directory(dir))
    throw stream_error(errc::source_failure, std::string{what} + ": '" + dir
                                               + "' is not a directory");
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind("part-", 0) == 0)
      paths.push_back(entry.path().string());
  if (ec)
    throw stream_error(errc::source_failure, std::string{what}
                                               + ": cannot list '" + dir
                                               + "': " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> result;
  for (auto& path : paths) {
    std::ifstream in{path, std::ios::binary};
    if (!in.is_open())
      throw stream_error(errc::source_failure,
                         std::string{what} + ": cannot read '" + path + "'");
    std::string bytes{std::istreambuf_iterator<char>{in},
                      std::istreambuf_iterator<char>{}};
    if (in.bad())
      throw stream_error(errc::source_failure,
                         std::string{what} + ": error reading '" + path + "'");
    result.emplace_back(std::move(path), std::move(bytes));
  }
  return result;
}

} // namespace caf_stream::detail
