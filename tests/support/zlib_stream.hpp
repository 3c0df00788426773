#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <zlib.h>

// The two ends of a compressed Flume connection as the tests play them,
// with zlib's own calls (not caf-stream's `inflater` and `deflater`).
namespace support {

/// Deflates each of `messages` into one zlib stream, each flushed
/// (`Z_SYNC_FLUSH`) as Netty's `ZlibEncoder` flushes each write; returns
/// the stream's bytes after each message.
inline std::vector<std::string>
deflate_flushed(const std::vector<std::string>& messages, int level = 6) {
  z_stream z{};
  if (deflateInit(&z, level) != Z_OK)
    throw std::runtime_error("deflateInit failed");
  std::vector<std::string> result;
  for (const auto& msg : messages) {
    // zlib makes nothing of a flush with nothing new.
    if (msg.empty()) {
      result.emplace_back();
      continue;
    }
    std::string out(deflateBound(&z, msg.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
    z.avail_in = static_cast<uInt>(msg.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0
        || z.avail_out == 0)
      throw std::runtime_error("deflate failed");
    out.resize(out.size() - z.avail_out);
    result.push_back(std::move(out));
  }
  deflateEnd(&z);
  return result;
}

/// Reads a zlib stream as its bytes arrive.
class zlib_reader {
public:
  zlib_reader() {
    if (inflateInit(&z_) != Z_OK)
      throw std::runtime_error("inflateInit failed");
  }

  ~zlib_reader() {
    inflateEnd(&z_);
  }

  zlib_reader(const zlib_reader&) = delete;

  zlib_reader& operator=(const zlib_reader&) = delete;

  /// What the next `bytes` of the stream inflate to; throws if they do not.
  std::string read(const std::string& bytes) {
    std::string result;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z_.avail_in = static_cast<uInt>(bytes.size());
    char buf[4096];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      auto rc = inflate(&z_, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        throw std::runtime_error("the bytes do not inflate");
      result.append(buf, sizeof(buf) - z_.avail_out);
      if (rc != Z_OK)
        break;
    } while (z_.avail_in > 0 || z_.avail_out == 0);
    return result;
  }

private:
  z_stream z_{};
};

} // namespace support
