#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "caf_stream/dstream/receiver_input.hpp"

namespace caf_stream::detail {

/// Spark's FileInputDStream for text files (`text_file_stream`): each batch
/// `t` takes the files of the directory that are new, i.e. whose name does
/// not start with '.', whose modification time lies in `(threshold, t]` and
/// that no recent batch took. Each file becomes one partition of lines.
class file_input_node final : public generated_input_node<std::string> {
public:
  /// How long a file's selection is remembered (Spark's
  /// `fileStream.minRememberDuration`, 60 s).
  static constexpr duration min_remember_duration = duration{60000};

  file_input_node(dstream_graph& graph, duration slide, std::string directory);

  const char* name() const noexcept override {
    return "text_file_stream";
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
  std::string directory_;
  duration remember_;
  std::map<time, std::vector<std::string>> selected_;
  std::set<std::string> recent_;
  std::map<time, std::vector<std::string>> replay_;
};

/// Reads a file's lines into one partition ('\n'-separated, '\r' stripped).
std::vector<std::string> read_lines(const std::string& path);

} // namespace caf_stream::detail
