#pragma once

#include <string>

#include "caf_stream/config.hpp"

namespace caf_stream::testing {

/// Settings `run_operation` uses unless told otherwise: two workers and two
/// partitions per batch, no streaming UI.
stream_options default_test_options();

/// A fresh directory under the system's temporary directory, removed with
/// this object.
class temporary_directory {
public:
  temporary_directory();

  ~temporary_directory();

  temporary_directory(const temporary_directory&) = delete;

  temporary_directory& operator=(const temporary_directory&) = delete;

  const std::string& path() const noexcept {
    return path_;
  }

private:
  std::string path_;
};

} // namespace caf_stream::testing
