#pragma once

#include <algorithm>
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

/// Feeds `bytes` to `feed(data, size)` in pieces whose sizes `seed` picks
/// (1 to 16 bytes; 0: all at once), as reads from a socket cut them; stops
/// at the first piece whose `feed` throws `Error`. Returns whether every
/// piece was fed.
template <class Error, class Feed>
bool feed_in_pieces(const std::string& bytes, uint32_t seed, Feed feed) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = bytes.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min(n, size_t{(seed >> 16) % 16 + 1});
    }
    try {
      feed(bytes.data() + pos, n);
    } catch (const Error&) {
      return false;
    }
    pos += n;
  }
  return true;
}

} // namespace fuzz
