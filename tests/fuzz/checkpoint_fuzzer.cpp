// libFuzzer target: the checkpoint reader (detail::parse_checkpoint). Every
// input is either read or refused with `stream_error(bad_checkpoint)`; any
// other outcome (a crash, another exception, a huge allocation) is a bug.
//
// Input: byte 0 chooses the form. Even: the rest is a whole file. Odd: the
// rest is a record's payload, given a valid header (magic, version 1, its
// length and checksum), so that the fuzzer gets past the checksum to the
// decoder, as a record written by a faulty program would.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/error.hpp"

namespace {

void put_le(std::string& out, uint64_t x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream;
  if (size < 1)
    return 0;
  std::string rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  std::string file;
  if (data[0] % 2 == 0) {
    file = std::move(rest);
  } else {
    file = "CAFSCKPT";
    put_le(file, 1, 4);
    put_le(file, rest.size(), 8);
    put_le(file, detail::crc32(rest.data(), rest.size()), 4);
    file += rest;
  }
  try {
    auto x = detail::parse_checkpoint(file, "fuzz");
    if (x.version != 1)
      std::abort();
  } catch (const stream_error& e) {
    if (e.code() != errc::bad_checkpoint)
      std::abort();
  }
  return 0;
}
