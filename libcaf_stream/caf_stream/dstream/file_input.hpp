#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/dstream/receiver_input.hpp"

namespace caf_stream::detail {

/// Which files of a directory each batch of a file stream takes (Spark's
/// FileInputDStream): batch `t` takes the files that pass the filter
/// (Spark's default: the name does not start with '.'), whose modification
/// time lies in `(threshold, t]` and that no recent batch took; the
/// threshold is `t` minus the remember window and, with `new_files_only`,
/// at least the stream's start.
class file_selection {
public:
  /// Whether a file, by its path, is one to take.
  using filter_type = std::function<bool(const std::string& path)>;

  /// Takes files modified up to `min_remember` (rounded up to whole
  /// slides; Spark's `fileStream.minRememberDuration`) before a batch, and
  /// remembers that long what it took. Throws `stream_error`, naming the
  /// stream `name`, if `directory` is not a directory. A null `filter` is
  /// Spark's default.
  file_selection(std::string directory, duration slide, duration min_remember,
                 filter_type filter, bool new_files_only, const char* name);

  /// The files batch `t` would take now, if the stream started at `start`.
  std::vector<std::string> find_new_files(time t, time start) const;

  /// The files batch `t` takes (after recovery, those it took before),
  /// remembered for `remember` at least.
  std::vector<std::string> next(time t, time start, duration remember);

  /// The files taken by the batches still remembered.
  std::string checkpoint_positions() const;

  /// Takes the selections of `checkpoint_positions` back; returns them, for
  /// the windows that reach back before the restart.
  std::vector<std::pair<time, std::vector<std::string>>>
  restore_positions(const std::string& bytes);

private:
  std::string directory_;
  filter_type filter_;
  bool new_files_only_;
  const char* name_;
  duration remember_;
  std::map<time, std::vector<std::string>> selected_;
  std::set<std::string> recent_;
  std::map<time, std::vector<std::string>> replay_;
};

/// Reads a file into one partition's records.
template <class T>
using file_reader = std::function<std::vector<T>(const std::string& path)>;

/// One partition per file, read in the partition's task.
template <class T>
class files_node final : public rdd_node<T> {
public:
  files_node(std::vector<std::string> files,
             std::shared_ptr<const file_reader<T>> reader)
    : files_(std::move(files)), reader_(std::move(reader)) {
    // nop
  }

  /// Spark's file stream makes a batch's RDD as the union of one RDD per
  /// file (`FileInputDStream.filesToRDD`).
  const char* kind() const noexcept override {
    return "UnionRDD";
  }

  size_t num_partitions() const override {
    return files_.size();
  }

  void prepare(task_runner&) const override {
    // nop
  }

  void compute(size_t index, typename rdd_node<T>::sink out) const override {
    for (const auto& x : materialize(index))
      out(x);
  }

  std::vector<T> materialize(size_t index) const override {
    return (*reader_)(files_[index]);
  }

private:
  std::vector<std::string> files_;
  std::shared_ptr<const file_reader<T>> reader_;
};

/// A stream of the files that appear in a directory (Spark's
/// FileInputDStream; `text_file_stream`, `binary_records_stream` and
/// `file_stream`): each batch takes the files `file_selection` picks, and
/// each file becomes one partition of the records its reader makes.
template <class T>
class file_input_node final : public generated_input_node<T> {
public:
  file_input_node(dstream_graph& graph, duration slide, duration min_remember,
                  std::string directory, file_reader<T> reader,
                  const char* name,
                  file_selection::filter_type filter = nullptr,
                  bool new_files_only = true)
    : generated_input_node<T>(graph, slide),
      files_(std::move(directory), slide, min_remember, std::move(filter),
             new_files_only, name),
      reader_(std::make_shared<const file_reader<T>>(std::move(reader))),
      name_(name) {
    // nop
  }

  const char* name() const noexcept override {
    return name_;
  }

  /// The files batch `t` would take now (exposed for tests).
  std::vector<std::string> find_new_files(time t) const {
    return files_.find_new_files(t, this->graph().start_time());
  }

  std::string checkpoint_positions(time) override {
    return files_.checkpoint_positions();
  }

  // Batches run again after recovery take the files they took before, and
  // windows that reach back before the restart read their files again, as
  // Spark's FileInputDStream.
  void restore_positions(const std::string& bytes) override {
    for (auto& [t, files] : files_.restore_positions(bytes))
      this->restore_fixed(t, files_rdd(std::move(files)));
  }

protected:
  std::pair<rdd<T>, int64_t> next(time t) override {
    return {files_rdd(files_.next(t, this->graph().start_time(),
                                  this->remember_duration())),
            0};
  }

private:
  rdd<T> files_rdd(std::vector<std::string> files) const {
    return rdd<T>{std::make_shared<files_node<T>>(std::move(files), reader_)};
  }

  file_selection files_;
  std::shared_ptr<const file_reader<T>> reader_;
  const char* name_;
};

/// Reads a file's lines into one partition ('\n'-separated, '\r' stripped).
std::vector<std::string> read_lines(const std::string& path);

/// Reads a file of binary records of `length` bytes each into one partition;
/// throws `stream_error` naming the file if its size is not a multiple of
/// `length` (the file's records are not taken apart by guess).
std::vector<std::string> read_records(const std::string& path, size_t length);

} // namespace caf_stream::detail
