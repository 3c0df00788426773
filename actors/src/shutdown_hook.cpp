#include "caf_stream/shutdown_hook.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/text.hpp"

namespace caf_stream {

namespace {

// The write end of the hook's pipe: the signal handler writes the signal
// number, the hook's thread reads it (a handler may only do little).
std::atomic<int> signal_pipe{-1};

void on_signal(int sig) {
  auto saved = errno;
  auto fd = signal_pipe.load();
  if (fd >= 0) {
    auto byte = static_cast<char>(sig);
    [[maybe_unused]] auto n = ::write(fd, &byte, 1);
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

  // Reads signals until the hook goes away (a 0 byte).
  void watch() {
    for (;;) {
      char sig = 0;
      auto n = ::read(fds[0], &sig, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || sig == 0)
        return;
      if (stopped_by.load() == 0) {
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
  int expected = -1;
  if (!signal_pipe.compare_exchange_strong(expected, d.fds[1])) {
    ::close(d.fds[0]);
    ::close(d.fds[1]);
    throw stream_error(errc::illegal_state,
                       "shutdown_hook: another hook is installed");
  }
  d.watcher = std::thread{[&d] { d.watch(); }};
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &d.old_int);
  ::sigaction(SIGTERM, &sa, &d.old_term);
}

shutdown_hook::~shutdown_hook() {
  auto& d = *impl_;
  ::sigaction(SIGINT, &d.old_int, nullptr);
  ::sigaction(SIGTERM, &d.old_term, nullptr);
  char stop = 0;
  [[maybe_unused]] auto n = ::write(d.fds[1], &stop, 1);
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
