#include "support/syscall_log.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::mutex mtx;

// The calls noted while a log lives; none if none does.
std::optional<std::vector<std::string>> calls;

void note(const std::string& call) {
  std::lock_guard<std::mutex> guard{mtx};
  if (calls)
    calls->push_back(call);
}

// Whether `call` names `path` at `at`, as a whole path or a directory of one.
bool names_at(const std::string& call, size_t at, const std::string& path) {
  auto end = at + path.size();
  return call.compare(at, path.size(), path) == 0
         && (end == call.size() || call[end] == '/' || call[end] == ' ');
}

// The C library's definition of `name`, which the test program's hides.
template <class F>
F* next_definition(const char* name) {
  auto result = reinterpret_cast<F*>(::dlsym(RTLD_NEXT, name));
  if (result == nullptr)
    std::abort();
  return result;
}

} // namespace

extern "C" int fsync(int fd) {
  static auto real = next_definition<int(int)>("fsync");
  auto result = real(fd);
  if (result == 0) {
    std::error_code ec;
    auto path = std::filesystem::read_symlink(
      "/proc/self/fd/" + std::to_string(fd), ec);
    note("fsync " + (ec ? "?" : path.string()));
  }
  return result;
}

extern "C" int rename(const char* from, const char* to) noexcept {
  static auto real = next_definition<int(const char*, const char*)>("rename");
  auto result = real(from, to);
  if (result == 0)
    note(std::string{"rename "} + from + " " + to);
  return result;
}

namespace support {

syscall_log::syscall_log() {
  std::lock_guard<std::mutex> guard{mtx};
  if (calls)
    throw std::logic_error("one syscall_log at a time");
  calls.emplace();
}

syscall_log::~syscall_log() {
  std::lock_guard<std::mutex> guard{mtx};
  calls.reset();
}

std::vector<std::string>
syscall_log::calls_under(const std::string& directory) const {
  auto dir = std::filesystem::weakly_canonical(directory).string();
  std::vector<std::string> result;
  std::lock_guard<std::mutex> guard{mtx};
  for (auto call : *calls) {
    bool named = false;
    for (size_t at = call.find(dir); at != std::string::npos;
         at = call.find(dir, at + 1))
      if (names_at(call, at, dir)) {
        call.replace(at, dir.size(), "<dir>");
        named = true;
      }
    if (named)
      result.push_back(std::move(call));
  }
  return result;
}

} // namespace support
