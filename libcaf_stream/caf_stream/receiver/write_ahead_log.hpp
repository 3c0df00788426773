#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/receiver/block.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::detail {

/// The records of one segment file of a write-ahead log.
struct wal_segment {
  /// The records' payloads, with the byte offset of each record.
  std::vector<std::pair<uint64_t, std::string>> records;

  /// Where a torn last record begins (the process died in the middle of
  /// writing it); none if the segment ends with a whole record.
  std::optional<uint64_t> torn_at;
};

/// Reads a segment file's bytes: a magic number, then records of a 32-bit
/// length, the payload's CRC-32 and the payload (integers little-endian). A
/// last record that runs past the end, or whose checksum fails and that ends
/// the file, is torn: it is left out and `torn_at` says where it began.
/// Throws `stream_error` (errc::bad_checkpoint) naming `path` and the
/// offset for anything else: not a segment, or a corrupt record that other
/// records follow.
wal_segment parse_wal_segment(const std::string& bytes,
                              const std::string& path);

/// A logged block: its stream, its segment and its record's offset there.
using wal_block_key = std::pair<std::pair<int32_t, uint32_t>, uint64_t>;

/// The block that a record of stream `stream_id`'s log holds (recovery's
/// reading of it, marked `recovered`). Throws `stream_error`
/// (errc::bad_checkpoint) naming `path` and `offset` if it is malformed.
block parse_block_record(const std::string& payload, int32_t stream_id,
                         uint32_t segment, uint64_t offset,
                         const std::string& path);

/// The batch and its blocks that a record of the allocation log holds.
/// Throws like `parse_block_record`.
std::pair<time, std::vector<wal_block_key>>
parse_allocation_record(const std::string& payload, uint64_t offset,
                        const std::string& path);

/// Appends records to the segment files `log-<n>` of a directory, one
/// segment at a time; a new writer never appends to an old segment. Not
/// thread-safe.
class wal_writer {
public:
  /// Writes to `directory` (created if missing), starting with segment
  /// `first_segment`.
  wal_writer(std::string directory, uint32_t first_segment);

  ~wal_writer();

  wal_writer(const wal_writer&) = delete;

  wal_writer& operator=(const wal_writer&) = delete;

  /// Appends a record whose payload is `head` followed by `body` (in one
  /// `writev`, so that a killed process leaves at most the last record
  /// torn); returns its segment and offset. Opens a segment if none is
  /// open. Throws `stream_error` (errc::bad_checkpoint) with the system's
  /// reason if the file cannot be written.
  std::pair<uint32_t, uint64_t> append(std::string_view head,
                                       std::string_view body = {});

  /// Forces what was appended to the open segment to disk (fsync), and
  /// the names of the segments and directories made since the last sync.
  void sync();

  /// Closes the open segment: the next record starts a new one.
  void roll();

  /// The segment being written, if one is open.
  std::optional<uint32_t> open_segment() const noexcept;

  /// The file of segment `n` of `directory`.
  static std::string segment_path(const std::string& directory, uint32_t n);

  /// The segments of `directory`, in the order they were written.
  static std::vector<uint32_t> list_segments(const std::string& directory);

private:
  std::string dir_;
  uint32_t next_;
  int fd_ = -1;
  uint32_t current_ = 0;
  uint64_t size_ = 0;
  bool dirty_ = false;
  // The directories whose entries changed since the last sync: the one of
  // a new segment, and the parent of each directory made for it.
  std::vector<std::string> unsynced_directories_;
};

/// Spark's receiver write-ahead log together with its ReceivedBlockTracker
/// log, in the checkpoint directory: the blocks of each receiver stream in
/// `receivedData/<stream>/`, and which blocks each batch got in
/// `receivedBlockMetadata/`. Recovery reads back the blocks of the batches
/// that run again and of those that no batch got yet. Segments go once every
/// block in them belongs to a batch that no recovery needs any more.
/// Thread-safe: receivers log their blocks from their own threads.
class received_block_log {
public:
  /// What recovery reads back; every block is marked `recovered`.
  struct recovered_blocks {
    /// The blocks of each batch after the time recovery starts from.
    std::map<time, std::vector<block>> batches;

    /// Blocks that no batch got before the crash, in the order received.
    std::vector<block> unallocated;

    /// Batches some of whose blocks are no longer in the log (their
    /// segments were deleted, as after a recovery from an older checkpoint
    /// than the newest): they run without those blocks.
    std::vector<time> incomplete;
  };

  /// Logs into `checkpoint_dir`; `clk` times the segments' rolling.
  received_block_log(std::string checkpoint_dir, wal_sync sync,
                     duration rolling_interval, std::shared_ptr<clock> clk);

  ~received_block_log();

  received_block_log(const received_block_log&) = delete;

  received_block_log& operator=(const received_block_log&) = delete;

  /// Deletes the logs of an earlier run (a context that starts without a
  /// checkpoint: they belong to a run whose checkpoints are gone, and
  /// recovering them later would add their blocks to this run's batches).
  void discard();

  /// Reads the logs back, once, before anything is logged: the blocks of
  /// the batches after `after`, and the blocks that no batch got. A torn
  /// last record is dropped with a warning (it was never acknowledged);
  /// throws `stream_error` (errc::bad_checkpoint) naming the segment and
  /// offset of a corrupt record.
  recovered_blocks recover(time after);

  /// Logs the records of `b` and sets its position in the log (under
  /// `every-block`, on disk before this returns). Throws `stream_error`
  /// (errc::bad_checkpoint) if the log cannot be written.
  void add(block& b);

  /// Called once per block interval for stream `stream_id`: rolls its
  /// segment when due, and forces its log to disk under `every-interval`.
  void flush(int32_t stream_id);

  /// Logs that batch `t` gets the logged ones of `blocks`, also when there
  /// are none (before the batch runs; on disk unless the policy is
  /// `never`). Throws like `add`.
  void allocate(time t, const std::vector<block>& blocks);

  /// Deletes the segments whose blocks all went to batches up to `t`, then
  /// the allocation segments of those batches alone.
  void clean(time t);

  /// The segment files on disk (for tests and figures).
  size_t num_segments() const;

private:
  // What cleaning needs to know of a block segment.
  struct block_segment {
    bool open = false;
    size_t blocks = 0;
    size_t allocated = 0;
    time last_batch;
  };

  // ... and of an allocation segment: its newest batch and the block
  // segments its records name, which must go first.
  struct allocation_segment {
    bool open = false;
    time last_batch;
    std::set<std::pair<int32_t, uint32_t>> blocks;
  };

  struct stream_log {
    std::mutex mtx;
    std::unique_ptr<wal_writer> writer;
    time opened;
  };

  stream_log& log_of(int32_t stream_id);

  // Whether the open segment of `x`, opened at `opened`, is due to roll.
  bool roll_due(const wal_writer& x, time opened) const;

  // Rolls stream `stream_id`'s segment if due; called with `x.mtx` held.
  void roll_if_due(stream_log& x, int32_t stream_id);

  std::string stream_dir(int32_t stream_id) const;

  std::string allocation_dir() const;

  std::string dir_;
  wal_sync sync_;
  duration rolling_;
  std::shared_ptr<clock> clk_;
  // Guards the maps below and the allocation log.
  mutable std::mutex mtx_;
  std::map<int32_t, std::unique_ptr<stream_log>> streams_;
  std::map<std::pair<int32_t, uint32_t>, block_segment> block_segments_;
  std::map<uint32_t, allocation_segment> allocation_segments_;
  // The first segment number of each new writer: past every segment found.
  std::map<int32_t, uint32_t> next_block_segment_;
  std::unique_ptr<wal_writer> allocations_;
  time allocations_opened_;
};

} // namespace caf_stream::detail
