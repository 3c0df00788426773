#include "caf_stream/flume/compression.hpp"

#include <algorithm>
#include <climits>

#include <zlib.h>

namespace caf_stream::flume::detail {

namespace {

std::string zlib_message(const z_stream& z, int rc) {
  if (z.msg != nullptr)
    return z.msg;
  return "zlib error " + std::to_string(rc);
}

// zlib counts a call's bytes in `uInt`.
constexpr size_t max_call_bytes = UINT_MAX;

} // namespace

struct inflater::impl {
  impl() {
    if (auto rc = inflateInit(&z); rc != Z_OK)
      throw compression_error("cannot start inflating: "
                              + zlib_message(z, rc));
  }

  ~impl() {
    inflateEnd(&z);
  }

  z_stream z{};
  bool ended = false;
  size_t total_out = 0;
};

inflater::inflater() : impl_(std::make_unique<impl>()) {
  // nop
}

inflater::~inflater() = default;

void inflater::feed(const char* data, size_t size, const sink& out) {
  auto& z = impl_->z;
  char piece[piece_size];
  while (size > 0) {
    if (impl_->ended)
      throw compression_error(std::to_string(size)
                              + " bytes after the end of the stream");
    auto n = std::min(size, max_call_bytes);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(n);
    // Inflates until the input is used and no output is pending (a full
    // piece may leave more in zlib's window).
    do {
      z.next_out = reinterpret_cast<Bytef*>(piece);
      z.avail_out = piece_size;
      auto rc = ::inflate(&z, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT)
        throw compression_error("the stream asks for a preset dictionary");
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        throw compression_error(zlib_message(z, rc));
      auto made = piece_size - z.avail_out;
      impl_->total_out += made;
      if (made > 0)
        out(piece, made);
      if (rc == Z_STREAM_END) {
        impl_->ended = true;
        break;
      }
      if (rc == Z_BUF_ERROR && made == 0)
        break;
    } while (z.avail_in > 0 || z.avail_out == 0);
    auto used = n - z.avail_in;
    data += used;
    size -= used;
    if (!impl_->ended && used < n)
      break;
  }
}

size_t inflater::total_out() const noexcept {
  return impl_->total_out;
}

struct deflater::impl {
  explicit impl(int level) {
    if (auto rc = deflateInit(&z, level); rc != Z_OK)
      throw compression_error("cannot start deflating at level "
                              + std::to_string(level) + ": "
                              + zlib_message(z, rc));
  }

  ~impl() {
    deflateEnd(&z);
  }

  z_stream z{};
};

deflater::deflater(int level) : impl_(std::make_unique<impl>(level)) {
  // nop
}

deflater::~deflater() = default;

void deflater::write(std::string_view bytes, std::string& out) {
  auto& z = impl_->z;
  while (!bytes.empty()) {
    auto n = std::min(bytes.size(), max_call_bytes);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(n);
    auto flush = n == bytes.size() ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    // Until zlib leaves room in its output: then all of it is out.
    do {
      auto at = out.size();
      auto room = deflateBound(&z, z.avail_in) + 16;
      out.resize(at + room);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z.avail_out = static_cast<uInt>(room);
      auto rc = ::deflate(&z, flush);
      out.resize(at + room - z.avail_out);
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        throw compression_error(zlib_message(z, rc));
    } while (z.avail_out == 0);
    bytes.remove_prefix(n);
  }
}

bool starts_like_zlib(std::string_view bytes) noexcept {
  if (bytes.size() < 2)
    return false;
  auto cmf = static_cast<unsigned char>(bytes[0]);
  auto flg = static_cast<unsigned char>(bytes[1]);
  return cmf == 0x78 && (cmf * 256 + flg) % 31 == 0;
}

} // namespace caf_stream::flume::detail
