#include "caf_stream/text.hpp"

#include <filesystem>
#include <fstream>

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

std::string begin_output_dir(const std::string& final_dir) {
  fs::path final_path{final_dir};
  auto tmp = final_path.parent_path()
             / ("." + final_path.filename().string() + ".tmp");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec)
    throw stream_error(errc::job_failure, "save_as_text_files: cannot create '"
                                            + tmp.string()
                                            + "': " + ec.message());
  return tmp.string();
}

void write_part_file(const std::string& dir, size_t index,
                     const std::vector<std::string>& lines) {
  // Spark's part file names: part-00000, part-00001, ...
  auto digits = std::to_string(index);
  if (digits.size() < 5)
    digits.insert(0, 5 - digits.size(), '0');
  auto path = (fs::path{dir} / ("part-" + digits)).string();
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  for (const auto& line : lines) {
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.put('\n');
  }
  out.flush();
  if (!out)
    throw stream_error(errc::job_failure,
                       "save_as_text_files: cannot write '" + path + "'");
}

void commit_output_dir(const std::string& tmp_dir,
                       const std::string& final_dir) {
  std::ofstream{(fs::path{tmp_dir} / "_SUCCESS").string()};
  std::error_code ec;
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec)
    throw stream_error(errc::job_failure, "save_as_text_files: cannot move '"
                                            + tmp_dir + "' to '" + final_dir
                                            + "': " + ec.message());
}

} // namespace caf_stream::detail
