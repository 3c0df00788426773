#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "caf_stream/dstream/receiver_input.hpp"

namespace caf_stream::detail {

/// Spark's FileInputDStream for text files (`text_file_stream`) and for
/// files of fixed-length binary records (`binary_records_stream`): each
/// batch `t` takes the files of the directory that are new, i.e. whose name
/// does not start with '.', whose modification time lies in
/// `(threshold, t]` and that no recent batch took. Each file becomes one
/// partition of lines, or of records of `record_length` bytes each.
class file_input_node final : public generated_input_node<std::string> {
public:
  /// How long a file's selection is remembered (Spark's
  /// `fileStream.minRememberDuration`, 60 s).
  static constexpr duration min_remember_duration = duration{60000};

  /// `record_length` 0: text lines; else the length in bytes of each binary
  /// record.
  file_input_node(dstream_graph& graph, duration slide, std::string directory,
                  size_t record_length = 0);

  const char* name() const noexcept override {
    return record_length_ == 0 ? "text_file_stream" : "binary_records_stream";
  }

  /// The files batch `t` would take now (exposed for tests).
  std::vector<std::string> find_new_files(time t);

  /// The files taken by the batches still remembered.
  std::string checkpoint_positions(time t) override;

  /// Batches re-run after recovery take the files they took before.
  void restore_positions(const std::string& bytes) override;

protected:
  std::pair<rdd<std::string>, int64_t> next(time t) override;

private:
  // An RDD with one partition per file of `files`.
  rdd<std::string> files_rdd(std::vector<std::string> files) const;

  std::string directory_;
  size_t record_length_;
  duration remember_;
  std::map<time, std::vector<std::string>> selected_;
  std::set<std::string> recent_;
  std::map<time, std::vector<std::string>> replay_;
};

/// Reads a file's lines into one partition ('\n'-separated, '\r' stripped).
std::vector<std::string> read_lines(const std::string& path);

/// Reads a file of binary records of `length` bytes each into one partition;
/// throws `stream_error` naming the file if its size is not a multiple of
/// `length` (the file's records are not taken apart by guess).
std::vector<std::string> read_records(const std::string& path, size_t length);

} // namespace caf_stream::detail
