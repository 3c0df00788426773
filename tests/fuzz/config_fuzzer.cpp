// libFuzzer target: the configuration file reader (detail::scan_config_file,
// which `stream_config` checks `caf-application.ini` with). Besides not
// crashing, its entries must point at lines of the input, in order, and
// stop before a NUL byte.
//
// CAF's own reader is not fuzzed here: code built by clang that uses CAF
// 0.17 crashes against Debian's libcaf_core, which gcc built (see the
// README's fuzzing section).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "caf_stream/detail/config_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream;
  std::string text{reinterpret_cast<const char*>(data), size};
  auto file = detail::scan_config_file(text);
  auto lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'))
               + (text.empty() || text.back() == '\n' ? 0 : 1);
  size_t previous = 0;
  for (const auto& x : file.entries) {
    if (x.line <= previous || x.line > lines
        || x.value.find('\n') != std::string::npos
        || (file.nul_line > 0 && x.line >= file.nul_line))
      std::abort();
    previous = x.line;
  }
  auto nul = text.find('\0');
  if ((file.nul_line > 0) != (nul != std::string::npos && file.nul_line
                                                            <= lines))
    std::abort();
  return 0;
}
