#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace support {

/// A program the test runs as a child process, talking to it line by line
/// over its stdin and stdout. Killed (SIGKILL) when destroyed.
class child_process {
public:
  explicit child_process(std::vector<std::string> args) {
    int in[2];
    int out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0)
      throw std::runtime_error("pipe failed");
    // Built before the fork: the child of a process with threads must not
    // allocate until it runs the program (another thread may have held the
    // allocator's lock at the fork, which the sanitizers' allocator of GCC
    // 12 does not take over; the child then waits for it for good).
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(in[0]);
      ::close(in[1]);
      ::close(out[0]);
      ::close(out[1]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }

  ~child_process() {
    kill();
    ::close(to_child_);
    ::close(from_child_);
  }

  child_process(const child_process&) = delete;

  child_process& operator=(const child_process&) = delete;

  void write_line(const std::string& line) {
    auto text = line + "\n";
    if (::write(to_child_, text.data(), text.size())
        != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("cannot write to the child process");
  }

  /// The next line the child prints; throws after `timeout_ms` without one
  /// (a bound for a stuck child, not a timing assumption).
  std::string read_line(int timeout_ms = 120000) {
    for (;;) {
      if (auto line = take_line())
        return std::move(*line);
      switch (fill(timeout_ms)) {
        case fill_result::nothing:
          throw std::runtime_error("the child process printed nothing");
        case fill_result::ended:
          throw std::runtime_error("the child process ended: " + buf_);
        case fill_result::read:
          break;
      }
    }
  }

  /// The next line the child printed, if a whole one is there (does not
  /// wait).
  std::optional<std::string> try_read_line() {
    for (;;) {
      if (auto line = take_line())
        return line;
      if (fill(0) != fill_result::read)
        return std::nullopt;
    }
  }

  /// Reads what the child prints until a line contains `text`; returns
  /// whether one did before its output ended or 120 s passed without a
  /// line (a bound for a stuck child).
  bool wait_for_line(const std::string& text) {
    try {
      for (;;)
        if (read_line().find(text) != std::string::npos)
          return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  /// Everything the child prints until it closes its stdout (it exits);
  /// throws after `timeout_ms` without output (a bound for a stuck child).
  std::string read_to_end(int timeout_ms = 180000) {
    for (;;) {
      switch (fill(timeout_ms)) {
        case fill_result::nothing:
          throw std::runtime_error("the child process is stuck");
        case fill_result::ended:
          return std::exchange(buf_, std::string{});
        case fill_result::read:
          break;
      }
    }
  }

  /// The child's process id; -1 once it was killed or reaped.
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Sends the child signal `sig`.
  void send_signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  /// Freezes the child with SIGSTOP and returns once it is stopped (a
  /// signal is delivered after `kill` returns).
  void freeze() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGSTOP);
    int status = 0;
    ::waitpid(pid_, &status, WUNTRACED);
  }

  /// Resumes a child that `freeze` stopped (SIGCONT).
  void resume() {
    send_signal(SIGCONT);
  }

  /// Kills the child with SIGKILL and reaps it.
  void kill() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// The child's exit status if it exited (-1 if a signal killed it), none
  /// while it runs.
  std::optional<int> exit_status_if_done() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_)
      return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  /// Waits at most `bound` for the child to exit: its exit status, or none
  /// if it still runs then (a child that hangs fails its test rather than
  /// holding up the suite). Keeps what the child prints meanwhile for
  /// `read_line`; a child ends its output when it exits.
  std::optional<int> wait_for(std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      if (auto status = exit_status_if_done())
        return status;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      if (fill(static_cast<int>(left.count())) == fill_result::ended)
        return wait();
    }
  }

  /// Waits for the child to exit; returns its exit status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

private:
  enum class fill_result { read, nothing, ended };

  // A whole line from what the child printed so far, if there is one.
  std::optional<std::string> take_line() {
    auto pos = buf_.find('\n');
    if (pos == std::string::npos)
      return std::nullopt;
    auto line = buf_.substr(0, pos);
    buf_.erase(0, pos + 1);
    return line;
  }

  // Reads what the child printed, waiting up to `timeout_ms` for it.
  fill_result fill(int timeout_ms) {
    pollfd p{from_child_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return fill_result::nothing;
    char chunk[4096];
    auto n = ::read(from_child_, chunk, sizeof(chunk));
    if (n <= 0)
      return fill_result::ended;
    buf_.append(chunk, static_cast<size_t>(n));
    return fill_result::read;
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buf_;
};

} // namespace support
