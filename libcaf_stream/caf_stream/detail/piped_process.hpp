#pragma once

#include <map>
#include <string>
#include <vector>

namespace caf_stream::detail {

/// Runs the program `command[0]` (found on the PATH) with the arguments
/// `command[1..]` and the variables `env` added to this process's
/// environment, writes `lines` to its standard input, one per line, while
/// it reads its standard output, and returns the lines the program wrote
/// there (`rdd::pipe`, Spark's `PipedRDD`). The program's standard error
/// is this process's. A program that stops reading early is no error;
/// throws `stream_error` (`errc::job_failure`) if the program cannot start
/// or does not exit with status 0, `std::invalid_argument` for an empty
/// command.
std::vector<std::string> pipe_through(const std::vector<std::string>& command,
                                      const std::map<std::string,
                                                     std::string>& env,
                                      const std::vector<std::string>& lines);

/// `command` split at whitespace, as Spark's `pipe(String)` splits it (no
/// shell: quotes and variables are the program's arguments as written).
std::vector<std::string> split_command(const std::string& command);

} // namespace caf_stream::detail
