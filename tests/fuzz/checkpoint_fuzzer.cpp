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
#include "caf_stream/detail/bytes.hpp"
#include "caf_stream/error.hpp"

#include "input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream;
  auto file = fuzz::input_file(data, size, [](const std::string& payload) {
    std::string result = "CAFSCKPT";
    detail::put_le<uint32_t>(result, 1);
    detail::put_le<uint64_t>(result, payload.size());
    detail::put_le<uint32_t>(result,
                             detail::crc32(payload.data(), payload.size()));
    return result + payload;
  });
  if (!file)
    return 0;
  try {
    auto x = detail::parse_checkpoint(*file, "fuzz");
    if (x.version != 1)
      std::abort();
  } catch (const stream_error& e) {
    if (e.code() != errc::bad_checkpoint)
      std::abort();
  }
  return 0;
}
