#pragma once

#include <initializer_list>
#include <string>
#include <vector>

namespace support {

/// The bytes `xs`, for byte tables written by hand.
inline std::string bytes(std::initializer_list<int> xs) {
  std::string result;
  for (auto x : xs)
    result.push_back(static_cast<char>(x));
  return result;
}

/// A pack of Avro's Netty framing: the serial and the frame count as
/// big-endian int32s, then each frame with its length.
inline std::string pack(int serial, const std::vector<std::string>& frames) {
  auto be32 = [](int x) {
    return bytes({(x >> 24) & 0xFF, (x >> 16) & 0xFF, (x >> 8) & 0xFF,
                  x & 0xFF});
  };
  auto result = be32(serial) + be32(static_cast<int>(frames.size()));
  for (const auto& frame : frames)
    result += be32(static_cast<int>(frame.size())) + frame;
  return result;
}

} // namespace support
