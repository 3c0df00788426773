#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

/// The compression of a Flume AvroSink's connection with
/// `compression-type = deflate` (Spark's `enableDecompression`): Netty's
/// `ZlibEncoder` and `ZlibDecoder` on both ends, one zlib stream (RFC 1950)
/// each way, flushed after each message (`Z_SYNC_FLUSH`), so that each
/// request and each reply inflates whole as soon as it arrived. zlib's
/// types stay in the source file.
namespace caf_stream::flume::detail {

/// Bytes that are not a zlib stream (zlib's message says why).
class compression_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Inflates one zlib stream as its bytes arrive.
class inflater {
public:
  /// Gets the bytes a piece of the stream inflated to.
  using sink = std::function<void(const char*, size_t)>;

  inflater();

  ~inflater();

  inflater(const inflater&) = delete;

  inflater& operator=(const inflater&) = delete;

  /// Inflates the next `size` bytes of the stream and calls `out` with what
  /// they inflate to, in pieces of at most `piece_size` bytes: a few bytes
  /// that inflate to many are never in memory whole. Throws
  /// `compression_error` for bytes that are not a zlib stream, and for
  /// bytes after its end.
  void feed(const char* data, size_t size, const sink& out);

  /// The bytes the stream inflated to so far.
  size_t total_out() const noexcept;

  static constexpr size_t piece_size = 64 * 1024;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Deflates one zlib stream, a flushed piece at a time.
class deflater {
public:
  /// `level`: zlib's compression level, 0 to 9 (Netty's `ZlibEncoder` on
  /// Spark's and Flume's side of the connection uses 6).
  explicit deflater(int level = 6);

  ~deflater();

  deflater(const deflater&) = delete;

  deflater& operator=(const deflater&) = delete;

  /// Appends `bytes` to `out`, deflated and flushed (`Z_SYNC_FLUSH`): the
  /// other end inflates everything written so far. Empty `bytes` write
  /// nothing.
  void write(std::string_view bytes, std::string& out);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Whether `bytes` start with the header zlib and Netty write (RFC 1950:
/// deflate with a window of 32 KiB, and a check that divides by 31).
bool starts_like_zlib(std::string_view bytes) noexcept;

} // namespace caf_stream::flume::detail
