#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace caf_stream::detail {

/// Appends `x` to `out` as `sizeof(T)` little-endian bytes (the on-disk
/// integers of checkpoints and write-ahead logs).
template <class T>
void put_le(std::string& out, T x) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(
      static_cast<char>((static_cast<uint64_t>(x) >> (8 * i)) & 0xFF));
}

/// Reads a `T` from `sizeof(T)` little-endian bytes at `in`.
template <class T>
T get_le(const char* in) {
  uint64_t x = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    x |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return static_cast<T>(x);
}

} // namespace caf_stream::detail
