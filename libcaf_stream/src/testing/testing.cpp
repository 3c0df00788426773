#include "caf_stream/testing/fixtures.hpp"
#include "caf_stream/testing/manual_clock.hpp"

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <vector>

#include "caf_stream/error.hpp"

namespace caf_stream::testing {

// -- manual clock -------------------------------------------------------------

time manual_clock::now() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return now_;
}

void manual_clock::advance(duration d) {
  set_time(now() + d);
}

void manual_clock::set_time(time target) {
  // Fire due timers one at a time, at their own time, so that a callback sees
  // the clock where its timer was set and may schedule further timers.
  for (;;) {
    callback f;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = timers_.begin();
      if (i == timers_.end() || i->first.first > target) {
        if (target > now_)
          now_ = target;
        cv_.notify_all();
        return;
      }
      if (i->first.first > now_)
        now_ = i->first.first;
      cv_.notify_all();
      f = std::move(i->second);
      timers_.erase(i);
    }
    f();
  }
}

void manual_clock::schedule(time at, callback f) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (at > now_) {
      timers_.emplace(std::make_pair(at, seq_++), std::move(f));
      return;
    }
  }
  f();
}

void manual_clock::sleep_until(time t,
                               const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto done = [&] { return now_ >= t || cancelled(); };
  if (done())
    return;
  auto i = sleeping_.insert(t);
  cv_.notify_all();
  cv_.wait(guard, done);
  sleeping_.erase(i);
  cv_.notify_all();
}

void manual_clock::wake() {
  std::lock_guard<std::mutex> guard{mtx_};
  cv_.notify_all();
}

bool manual_clock::wait_for_sleepers(const std::function<bool(size_t)>& pred,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> guard{mtx_};
  while (!pred(sleepers())) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    cv_.wait_for(guard, std::chrono::milliseconds(10));
  }
  return true;
}

size_t manual_clock::sleepers() const {
  return static_cast<size_t>(
    std::distance(sleeping_.upper_bound(now_), sleeping_.end()));
}

// -- fixtures ----------------------------------------------------

stream_options default_test_options() {
  stream_options result;
  result.workers = 2;
  result.default_parallelism = 2;
  // Tests that look at the UI turn it on, on a port of their own.
  result.ui_enabled = false;
  return result;
}

temporary_directory::temporary_directory() {
  auto pattern = (std::filesystem::temp_directory_path() / "caf_stream-XXXXXX")
                   .string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw stream_error(errc::illegal_state,
                       "cannot create a temporary directory");
  path_ = buf.data();
}

temporary_directory::~temporary_directory() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace caf_stream::testing
