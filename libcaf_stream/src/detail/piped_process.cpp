#include "caf_stream/detail/piped_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "caf_stream/detail/unique_fd.hpp"
#include "caf_stream/error.hpp"

extern char** environ;

namespace caf_stream::detail {

namespace {

// A pipe's read and write ends, closed on exec: a program another thread
// starts meanwhile keeps no end of it open (which would keep this one's
// program from seeing the end of its input).
std::pair<unique_fd, unique_fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw stream_error(errc::job_failure, std::string{"pipe: no pipe: "}
                                            + std::strerror(errno));
  return {unique_fd{fds[0]}, unique_fd{fds[1]}};
}

// "'grep -v x'": the command in messages.
std::string quoted(const std::vector<std::string>& command) {
  std::string result;
  for (const auto& arg : command)
    result += (result.empty() ? "" : " ") + arg;
  return "'" + result + "'";
}

// This process's environment with `env` set, as "NAME=value" strings.
std::vector<std::string>
environment_with(const std::map<std::string, std::string>& env) {
  std::vector<std::string> result;
  for (char** var = environ; var != nullptr && *var != nullptr; ++var) {
    std::string entry{*var};
    if (env.count(entry.substr(0, entry.find('='))) == 0)
      result.push_back(std::move(entry));
  }
  for (const auto& [name, value] : env)
    result.push_back(name + "=" + value);
  return result;
}

// Pointers to `xs`' strings, null-terminated, for `posix_spawnp`.
std::vector<char*> pointers_to(std::vector<std::string>& xs) {
  std::vector<char*> result;
  for (auto& x : xs)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
}

// Writes `lines` to `fd` and closes it, until the reader is gone. Runs on
// its own thread, which blocks SIGPIPE: a program that exits before it
// read everything makes `write` fail with EPIPE instead of killing this
// process, and the pending signal is taken before the thread ends.
void write_lines(unique_fd fd, const std::vector<std::string>& lines) {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  std::string buf;
  auto flush = [&] {
    size_t done = 0;
    while (done < buf.size()) {
      auto n = ::write(fd.get(), buf.data() + done, buf.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      done += static_cast<size_t>(n);
    }
    buf.clear();
    return true;
  };
  bool open = true;
  for (size_t i = 0; i < lines.size() && open; ++i) {
    buf += lines[i];
    buf += '\n';
    if (buf.size() >= 65536)
      open = flush();
  }
  if (open)
    flush();
  fd.reset();
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_signal, nullptr, &zero) > 0) {
    // nop
  }
}

// Everything `fd` gives until its end, split into lines (a last line
// without a newline counts; "\r\n" ends a line as "\n" does).
std::vector<std::string> read_lines(int fd) {
  std::vector<std::string> result;
  std::string partial;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') {
        partial += buf[i];
        continue;
      }
      if (!partial.empty() && partial.back() == '\r')
        partial.pop_back();
      result.push_back(std::move(partial));
      partial.clear();
    }
  }
  if (!partial.empty())
    result.push_back(std::move(partial));
  return result;
}

} // namespace

std::vector<std::string> split_command(const std::string& command) {
  std::istringstream in{command};
  std::vector<std::string> result;
  for (std::string arg; in >> arg;)
    result.push_back(std::move(arg));
  return result;
}

std::vector<std::string> pipe_through(const std::vector<std::string>& command,
                                      const std::map<std::string,
                                                     std::string>& env,
                                      const std::vector<std::string>& lines) {
  if (command.empty())
    throw std::invalid_argument("pipe: the command is empty");
  auto [in_read, in_write] = make_pipe();
  auto [out_read, out_write] = make_pipe();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  auto args = command;
  auto argv = pointers_to(args);
  auto vars = environment_with(env);
  auto envp = pointers_to(vars);
  pid_t pid = -1;
  auto rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(),
                         envp.data());
  posix_spawn_file_actions_destroy(&actions);
  in_read.reset();
  out_write.reset();
  if (rc != 0)
    throw stream_error(errc::job_failure, "pipe: cannot run "
                                            + quoted(command) + ": "
                                            + std::strerror(rc));
  std::thread writer{write_lines, std::move(in_write), std::cref(lines)};
  auto wait = [pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      // nop
    }
    return status;
  };
  std::vector<std::string> result;
  try {
    result = read_lines(out_read.get());
  } catch (...) {
    // Out of memory: the program stops on the closed pipe.
    out_read.reset();
    writer.join();
    wait();
    throw;
  }
  writer.join();
  auto status = wait();
  if (WIFSIGNALED(status))
    throw stream_error(errc::job_failure,
                       "pipe: the command " + quoted(command)
                         + " was killed by signal "
                         + std::to_string(WTERMSIG(status)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw stream_error(errc::job_failure,
                       "pipe: the command " + quoted(command)
                         + " exited with status "
                         + std::to_string(WEXITSTATUS(status)));
  return result;
}

} // namespace caf_stream::detail
