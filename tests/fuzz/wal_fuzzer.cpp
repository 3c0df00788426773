// libFuzzer target: the receiver write-ahead log's reader, as recovery
// reads a segment: `detail::parse_wal_segment`, then each record as a block
// and as an allocation record. Every input is read or refused with
// `stream_error(bad_checkpoint)`; any other outcome (a crash, another
// exception, a huge allocation) is a bug.
//
// Input: byte 0 chooses the form. Even: the rest is a whole segment file.
// Odd: the rest is one record's payload in a valid segment (magic, length,
// checksum), so that the fuzzer gets past the checksum to the decoders, as
// a record written by a faulty program would.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/detail/bytes.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"

#include "input.hpp"

namespace {

template <class F>
void expect_read_or_refused(F f) {
  using namespace caf_stream;
  try {
    f();
  } catch (const stream_error& e) {
    if (e.code() != errc::bad_checkpoint)
      std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caf_stream;
  auto file = fuzz::input_file(data, size, [](const std::string& payload) {
    std::string result = "CAFSWAL1";
    detail::put_le<uint32_t>(result, static_cast<uint32_t>(payload.size()));
    detail::put_le<uint32_t>(result,
                             detail::crc32(payload.data(), payload.size()));
    return result + payload;
  });
  if (!file)
    return 0;
  expect_read_or_refused([&] {
    auto seg = detail::parse_wal_segment(*file, "fuzz");
    uint64_t end = seg.torn_at ? *seg.torn_at : file->size();
    // No structured bindings: clang's lambdas cannot capture them.
    for (auto& record : seg.records) {
      auto offset = record.first;
      const auto& payload = record.second;
      if (offset < 8 || offset + 8 + payload.size() > end)
        std::abort();
      expect_read_or_refused([&] {
        auto b = detail::parse_block_record(payload, 0, 0, offset, "fuzz");
        if (b.records < 0 || !b.recovered)
          std::abort();
      });
      expect_read_or_refused(
        [&] { detail::parse_allocation_record(payload, offset, "fuzz"); });
    }
  });
  return 0;
}
