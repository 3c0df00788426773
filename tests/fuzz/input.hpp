#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fuzz {

/// The file a fuzz input stands for; none for an empty input. Byte 0
/// chooses the form. Even: the rest is a whole file. Odd: the rest is one
/// record's payload, which `frame(payload)` wraps into a valid file (its
/// header, length and checksum), so that the fuzzer gets past the checksum
/// to the decoder, as a record written by a faulty program would.
template <class Frame>
std::optional<std::string> input_file(const uint8_t* data, size_t size,
                                      Frame frame) {
  if (size < 1)
    return std::nullopt;
  std::string rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  if (data[0] % 2 == 0)
    return rest;
  return frame(rest);
}

} // namespace fuzz
