#include "caf_stream/clock.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/time.hpp"

#include <chrono>
#include <utility>

namespace caf_stream {

std::string to_string(duration d) {
  return std::to_string(d.count()) + " ms";
}

std::string to_string(time t) {
  return std::to_string(t.milliseconds()) + " ms";
}

std::string to_string(errc x) {
  switch (x) {
    case errc::invalid_graph:
      return "invalid_graph";
    case errc::invalid_config:
      return "invalid_config";
    case errc::illegal_state:
      return "illegal_state";
    case errc::source_failure:
      return "source_failure";
    case errc::job_failure:
      return "job_failure";
    case errc::timeout:
      return "timeout";
    case errc::bad_checkpoint:
      return "bad_checkpoint";
    case errc::sink_failure:
      return "sink_failure";
  }
  return "unknown_error";
}

clock::~clock() {
  // nop
}

time system_clock::now() const {
  using namespace std::chrono;
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return time{duration_cast<milliseconds>(since_epoch).count()};
}

void system_clock::sleep_until(time t,
                               const std::function<bool()>& cancelled) {
  auto deadline = std::chrono::steady_clock::now() + (t - now());
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_until(guard, deadline, cancelled);
}

void system_clock::wake() {
  std::lock_guard<std::mutex> guard{mtx_};
  cv_.notify_all();
}

system_clock::~system_clock() {
  {
    std::lock_guard<std::mutex> guard{timer_mtx_};
    stopping_ = true;
    timer_cv_.notify_all();
  }
  if (timer_thread_.joinable())
    timer_thread_.join();
}

void system_clock::schedule(time at, callback f) {
  std::lock_guard<std::mutex> guard{timer_mtx_};
  if (!timer_thread_.joinable())
    timer_thread_ = std::thread{[this] { run_timers(); }};
  timers_.emplace(at, std::move(f));
  timer_cv_.notify_all();
}

void system_clock::run_timers() {
  std::unique_lock<std::mutex> guard{timer_mtx_};
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(guard);
      continue;
    }
    auto next = timers_.begin()->first;
    auto left = next - now();
    if (left > duration{0}) {
      // Wall-clock time may jump: wait on the steady clock and look again.
      timer_cv_.wait_for(guard, left);
      continue;
    }
    auto f = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    guard.unlock();
    f();
    guard.lock();
  }
}

} // namespace caf_stream
