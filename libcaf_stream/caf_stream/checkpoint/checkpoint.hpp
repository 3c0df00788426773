#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace caf_stream::detail {

/// What a graph needs to resume after batch `time_ms`: written after every
/// batch (metadata), with the streams' state every checkpoint interval (data).
/// A file holds one record: a header with the format version, its length
/// and checksum, then the record as Boost.Serialization bytes.
struct checkpoint_record {
  /// The format this code writes. Readers accept every version up to it.
  static constexpr uint32_t current_version = 1;

  /// The format version the record was read from (or is written in).
  uint32_t version = current_version;

  /// The batch after which the record was written.
  int64_t time_ms = 0;

  int64_t batch_interval_ms = 0;

  /// The graph's zero time: batches are at `zero + k * interval`.
  int64_t zero_ms = 0;

  /// Describes the graph's streams, to refuse restoring into another graph.
  std::string graph_fingerprint;

  /// Batches generated but not completed when the record was written.
  std::vector<int64_t> pending_ms;

  /// The time of the newest data checkpoint (the state this record builds
  /// on): this record's own time if it carries `node_data`.
  int64_t data_time_ms = 0;

  /// The state of the streams that checkpoint data, by stream index.
  std::vector<std::pair<uint32_t, std::string>> node_data;

  /// The positions of the inputs (files taken per batch, ...), by stream
  /// index.
  std::vector<std::pair<uint32_t, std::string>> input_data;

  /// Whether this record carries the streams' state.
  bool has_data() const noexcept {
    return data_time_ms == time_ms;
  }
};

/// The CRC-32 of `n` bytes at `data` (IEEE 802.3, as zlib and
/// `boost::crc_32_type` compute it): a checkpoint file's checksum. Given the
/// CRC-32 `crc` of bytes before them, the CRC-32 of all of them (zlib's
/// `crc32(crc, data, n)`).
uint32_t crc32(const char* data, size_t n, uint32_t crc = 0) noexcept;

/// Writes `x` to `directory` atomically (temporary file, then rename), then
/// deletes old checkpoints beyond the newest `keep` (never one that a kept
/// record builds on). Throws `stream_error` on I/O errors.
void write_checkpoint(const std::string& directory,
                      const checkpoint_record& x, size_t keep);

/// The checkpoint records waiting to be written, less those a newer one
/// makes useless: recovery starts from the newest data record and the newest
/// record after it, so a record waiting behind a newer record of its kind
/// (or, for a metadata record, behind any newer record) is dropped. Records
/// come in batch order.
class pending_checkpoints {
public:
  /// Adds `x`, dropping what it supersedes.
  void add(checkpoint_record x);

  /// Takes the records to write, oldest first.
  std::vector<checkpoint_record> take();

  bool empty() const noexcept {
    return !data_ && !metadata_;
  }

private:
  std::optional<checkpoint_record> data_;
  std::optional<checkpoint_record> metadata_;
};

/// Reads one checkpoint file; throws `stream_error` (errc::bad_checkpoint)
/// if it is not a checkpoint, is truncated or corrupt, or comes from a
/// newer format version.
checkpoint_record read_checkpoint(const std::string& path);

/// Reads a checkpoint record from the `bytes` of a checkpoint file, as
/// `read_checkpoint` does; `path` names the file in errors.
checkpoint_record parse_checkpoint(const std::string& bytes,
                                   const std::string& path);

/// The checkpoint files of `directory`, newest first.
std::vector<std::string> list_checkpoints(const std::string& directory);

/// What recovery starts from: the newest readable record and the data
/// record it builds on (the same record if it carries data).
struct recovered_checkpoint {
  checkpoint_record latest;
  checkpoint_record data;
};

/// Finds the newest checkpoint of `directory` that can be restored, falling
/// back to older ones (with a warning) when the newest are unreadable.
/// Returns none if the directory holds no checkpoint; throws `stream_error`
/// if it holds checkpoint files none of which can be read.
std::optional<recovered_checkpoint>
find_checkpoint(const std::string& directory);

} // namespace caf_stream::detail
