#include "caf_stream/shutdown_hook.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/text.hpp"

#include "signal_requests.hpp"

namespace caf_stream {

namespace {

// What the signal handler tells the hook's thread: the signal (0: the hook
// goes away), its sender and when it came. Written whole: a pipe write of
// at most PIPE_BUF bytes is atomic.
struct signal_note {
  int sig;
  pid_t sender;
  int64_t at_ns;
};

// The write end of the hook's pipe: the signal handler writes a
// `signal_note`, the hook's thread reads it (a handler may only do little).
// It does not block: a flood of signals that fills the pipe must not stop
// the handler, which may run on the hook's own thread, the pipe's only
// reader; a note that does not fit is dropped, and the next one that does
// is read.
std::atomic<int> signal_pipe{-1};

void on_signal(int sig, siginfo_t* info, void*) {
  auto saved = errno;
  auto fd = signal_pipe.load();
  if (fd >= 0) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    signal_note note{sig, info != nullptr ? info->si_pid : 0,
                     int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec};
    [[maybe_unused]] auto n = ::write(fd, &note, sizeof(note));
  }
  errno = saved;
}

} // namespace

struct shutdown_hook::impl {
  streaming_context& ssc;
  int fds[2] = {-1, -1};
  struct sigaction old_int {};
  struct sigaction old_term {};
  std::atomic<int> stopped_by{0};
  std::thread watcher;
  std::thread stopper;
  std::shared_ptr<spdlog::logger> log = detail::logger("context");

  explicit impl(streaming_context& ctx) : ssc(ctx) {
    // nop
  }

  // Reads signals until the hook goes away (a note of signal 0).
  void watch() {
    actors::signal_requests requests;
    // Only the first repeat is logged: a sender that repeats its signal in
    // a loop would flood the log.
    bool repeat_logged = false;
    for (;;) {
      signal_note note{};
      auto n = ::read(fds[0], &note, sizeof(note));
      if (n < 0 && errno == EINTR)
        continue;
      if (n != static_cast<ssize_t>(sizeof(note)) || note.sig == 0)
        return;
      auto sig = note.sig;
      auto what = requests.take(sig, note.sender,
                                std::chrono::nanoseconds{note.at_ns});
      if (what == actors::signal_requests::request::repeat) {
        if (std::exchange(repeat_logged, true))
          continue;
        log->info("{} again from process {} at once (as `timeout` sends "
                  "it): still stopping",
                  strsignal(sig), note.sender);
        continue;
      }
      if (what == actors::signal_requests::request::stop) {
        stopped_by = sig;
        auto graceful = ssc.options().stop_gracefully_on_shutdown;
        log->warn("{}: stopping the streaming context{} (a second signal "
                  "ends the program at once)",
                  strsignal(sig), graceful ? " gracefully" : "");
        stopper = std::thread{[this, graceful] {
          try {
            ssc.stop(graceful);
          } catch (const std::exception& e) {
            log->error("stopping on a signal: {}", e.what());
          }
        }};
        continue;
      }
      log->warn("{} again: ending the program at once", strsignal(sig));
      detail::remove_temporary_outputs();
      std::_Exit(128 + sig);
    }
  }
};

shutdown_hook::shutdown_hook(streaming_context& ssc)
  : impl_(std::make_unique<impl>(ssc)) {
  auto& d = *impl_;
  if (::pipe2(d.fds, O_CLOEXEC) != 0)
    throw stream_error(errc::illegal_state,
                       std::string{"shutdown_hook: cannot create a pipe: "}
                         + std::strerror(errno));
  if (::fcntl(d.fds[1], F_SETFL, O_NONBLOCK) != 0) {
    std::string why = std::strerror(errno);
    ::close(d.fds[0]);
    ::close(d.fds[1]);
    throw stream_error(errc::illegal_state,
                       "shutdown_hook: cannot make its pipe non-blocking: "
                         + why);
  }
  int expected = -1;
  if (!signal_pipe.compare_exchange_strong(expected, d.fds[1])) {
    ::close(d.fds[0]);
    ::close(d.fds[1]);
    throw stream_error(errc::illegal_state,
                       "shutdown_hook: another hook is installed");
  }
  d.watcher = std::thread{[&d] { d.watch(); }};
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  ::sigaction(SIGINT, &sa, &d.old_int);
  ::sigaction(SIGTERM, &sa, &d.old_term);
}

shutdown_hook::~shutdown_hook() {
  auto& d = *impl_;
  ::sigaction(SIGINT, &d.old_int, nullptr);
  ::sigaction(SIGTERM, &d.old_term, nullptr);
  // The pipe may be full of notes the hook's thread has yet to read.
  signal_note stop{0, 0, 0};
  while (::write(d.fds[1], &stop, sizeof(stop)) < 0
         && (errno == EAGAIN || errno == EINTR)) {
    pollfd room{d.fds[1], POLLOUT, 0};
    ::poll(&room, 1, -1);
  }
  d.watcher.join();
  if (d.stopper.joinable())
    d.stopper.join();
  signal_pipe = -1;
  ::close(d.fds[0]);
  ::close(d.fds[1]);
}

int shutdown_hook::signal() const noexcept {
  return impl_->stopped_by.load();
}

} // namespace caf_stream
