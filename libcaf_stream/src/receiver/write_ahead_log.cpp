#include "caf_stream/receiver/write_ahead_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/detail/bytes.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/detail/sync_directory.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

namespace fs = std::filesystem;

constexpr char magic[8] = {'C', 'A', 'F', 'S', 'W', 'A', 'L', '1'};

// A record's length and checksum.
constexpr size_t record_header = 8;

// A block record: stream id, record count, lines flag, then the bytes.
constexpr size_t block_header = 4 + 8 + 1;

// An allocation record: batch time and block count, then per block its
// stream, segment and offset.
constexpr size_t allocation_header = 8 + 4;
constexpr size_t allocation_entry = 4 + 4 + 8;

constexpr const char* segment_prefix = "log-";

[[noreturn]] void fail(const std::string& what) {
  throw stream_error(errc::bad_checkpoint, what);
}

[[noreturn]] void fail_io(const std::string& what, const std::string& path) {
  fail("write-ahead log: cannot " + what + " '" + path
       + "': " + std::strerror(errno));
}

// The directories whose entries a new segment of `directory` changes: that
// one, and the parent of each one that is not there yet and is made for it.
std::vector<std::string> directories_to_sync(const std::string& directory) {
  auto dir = fs::path{directory};
  if (!dir.has_filename())
    dir = dir.parent_path();
  std::vector<std::string> result{dir.string()};
  std::error_code ec;
  for (; !dir.empty() && !fs::exists(dir, ec); dir = dir.parent_path())
    result.push_back(dir.has_parent_path() ? dir.parent_path().string() : ".");
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    fail_io("read", path);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

[[noreturn]] void bad_record(const std::string& path, uint64_t offset,
                             const std::string& what) {
  fail("write-ahead log segment '" + path + "': the record at offset "
       + std::to_string(offset) + " is corrupt (" + what + ")");
}

// A block record's head: stream id, record count and lines flag; the
// records' bytes follow.
std::string block_head(const block& b) {
  std::string result;
  put_le<int32_t>(result, b.stream_id);
  put_le<int64_t>(result, b.records);
  result.push_back(b.lines ? '\1' : '\0');
  return result;
}

std::string encode_allocation(time t, const std::vector<block>& blocks) {
  std::string result;
  put_le<int64_t>(result, t.milliseconds());
  put_le<uint32_t>(result, 0);
  uint32_t n = 0;
  for (const auto& b : blocks) {
    if (b.log_segment < 0)
      continue;
    put_le<int32_t>(result, b.stream_id);
    put_le<uint32_t>(result, static_cast<uint32_t>(b.log_segment));
    put_le<uint64_t>(result, b.log_offset);
    ++n;
  }
  auto count = result.data() + 8;
  for (size_t i = 0; i < 4; ++i)
    count[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return result;
}

// Reads a segment file, warning of a torn last record.
wal_segment read_segment(const std::string& path) {
  auto result = parse_wal_segment(read_file(path), path);
  if (result.torn_at)
    logger("wal")->warn("write-ahead log segment '{}' ends in a torn record "
                        "at offset {} (the process died while writing it; "
                        "it was never acknowledged): dropped",
                        path, *result.torn_at);
  return result;
}

void remove_file(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec)
    logger("wal")->warn("cannot delete write-ahead log segment '{}': {}",
                        path, ec.message());
}

} // namespace

// -- records ------------------------------------------------------------------

block parse_block_record(const std::string& payload, int32_t stream_id,
                         uint32_t segment, uint64_t offset,
                         const std::string& path) {
  if (payload.size() < block_header)
    bad_record(path, offset,
               "a block record of " + std::to_string(payload.size())
                 + " bytes");
  block result;
  result.stream_id = get_le<int32_t>(payload.data());
  result.records = get_le<int64_t>(payload.data() + 4);
  auto lines = payload[12];
  if (result.stream_id != stream_id || result.records < 0
      || (lines != '\0' && lines != '\1'))
    bad_record(path, offset, "a malformed block header");
  result.lines = lines == '\1';
  result.bytes = payload.substr(block_header);
  result.log_segment = segment;
  result.log_offset = offset;
  result.recovered = true;
  return result;
}

std::pair<time, std::vector<wal_block_key>>
parse_allocation_record(const std::string& payload, uint64_t offset,
                        const std::string& path) {
  if (payload.size() < allocation_header)
    bad_record(path, offset, "an allocation record of "
                               + std::to_string(payload.size()) + " bytes");
  auto t = time{get_le<int64_t>(payload.data())};
  auto n = get_le<uint32_t>(payload.data() + 8);
  if (payload.size() != allocation_header + uint64_t{n} * allocation_entry)
    bad_record(path, offset, "an allocation record of "
                               + std::to_string(payload.size())
                               + " bytes for " + std::to_string(n) + " blocks");
  std::vector<wal_block_key> keys;
  keys.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    auto p = payload.data() + allocation_header + i * allocation_entry;
    keys.push_back({{get_le<int32_t>(p), get_le<uint32_t>(p + 4)},
                    get_le<uint64_t>(p + 8)});
  }
  return {t, std::move(keys)};
}

// -- parse_wal_segment --------------------------------------------------------

wal_segment parse_wal_segment(const std::string& bytes,
                              const std::string& path) {
  wal_segment result;
  auto size = bytes.size();
  if (size < sizeof(magic)) {
    // Torn while the segment was created.
    if (std::memcmp(bytes.data(), magic, size) != 0)
      fail("'" + path + "' is not a write-ahead log segment");
    result.torn_at = 0;
    return result;
  }
  if (std::memcmp(bytes.data(), magic, sizeof(magic)) != 0)
    fail("'" + path + "' is not a write-ahead log segment");
  uint64_t pos = sizeof(magic);
  while (pos < size) {
    if (size - pos < record_header) {
      result.torn_at = pos;
      break;
    }
    auto length = get_le<uint32_t>(bytes.data() + pos);
    auto crc = get_le<uint32_t>(bytes.data() + pos + 4);
    auto end = pos + record_header + length;
    if (end > size) {
      result.torn_at = pos;
      break;
    }
    auto payload = bytes.data() + pos + record_header;
    if (crc32(payload, length) != crc) {
      if (end == size) {
        result.torn_at = pos;
        break;
      }
      bad_record(path, pos, "checksum mismatch, with "
                              + std::to_string(size - end)
                              + " bytes of records after it");
    }
    result.records.emplace_back(pos, std::string{payload, length});
    pos = end;
  }
  return result;
}

// -- wal_writer ---------------------------------------------------------------

wal_writer::wal_writer(std::string directory, uint32_t first_segment)
  : dir_(std::move(directory)), next_(first_segment) {
  // nop
}

wal_writer::~wal_writer() {
  roll();
}

std::pair<uint32_t, uint64_t> wal_writer::append(std::string_view head,
                                                  std::string_view body) {
  if (fd_ < 0) {
    for (auto& dir : directories_to_sync(dir_))
      if (std::find(unsynced_directories_.begin(), unsynced_directories_.end(),
                    dir)
          == unsynced_directories_.end())
        unsynced_directories_.push_back(std::move(dir));
    std::error_code ec;
    fs::create_directories(dir_, ec);
    auto path = segment_path(dir_, next_);
    fd_ = ::open(path.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      fail_io("create", path);
    current_ = next_++;
    if (::write(fd_, magic, sizeof(magic))
        != static_cast<ssize_t>(sizeof(magic))) {
      roll();
      fail_io("write", path);
    }
    size_ = sizeof(magic);
    dirty_ = true;
  }
  std::string header;
  put_le<uint32_t>(header, static_cast<uint32_t>(head.size() + body.size()));
  put_le<uint32_t>(header, crc32(body.data(), body.size(),
                                 crc32(head.data(), head.size())));
  iovec parts[3] = {{header.data(), header.size()},
                    {const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  auto total = header.size() + head.size() + body.size();
  auto offset = size_;
  size_t done = 0;
  while (done < total) {
    // After a short write, the rest of the parts.
    iovec rest[3];
    int n_rest = 0;
    size_t skip = done;
    for (auto& p : parts) {
      if (skip >= p.iov_len) {
        skip -= p.iov_len;
        continue;
      }
      rest[n_rest++] = {static_cast<char*>(p.iov_base) + skip,
                        p.iov_len - skip};
      skip = 0;
    }
    auto n = ::writev(fd_, rest, n_rest);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // What part of the record reached the file is torn: the next record
      // goes to a new segment, after it.
      auto path = segment_path(dir_, current_);
      roll();
      fail_io("write", path);
    }
    done += static_cast<size_t>(n);
  }
  size_ += total;
  dirty_ = true;
  return {current_, offset};
}

void wal_writer::sync() {
  if (fd_ < 0 || !dirty_)
    return;
  if (::fsync(fd_) != 0)
    fail_io("sync", segment_path(dir_, current_));
  for (const auto& dir : unsynced_directories_)
    if (!sync_directory(dir))
      fail_io("sync the directory", dir);
  unsynced_directories_.clear();
  dirty_ = false;
}

void wal_writer::roll() {
  if (fd_ < 0)
    return;
  ::close(fd_);
  fd_ = -1;
}

std::optional<uint32_t> wal_writer::open_segment() const noexcept {
  if (fd_ < 0)
    return std::nullopt;
  return current_;
}

std::string wal_writer::segment_path(const std::string& directory,
                                     uint32_t n) {
  auto digits = std::to_string(n);
  if (digits.size() < 10)
    digits.insert(0, 10 - digits.size(), '0');
  return (fs::path{directory} / (segment_prefix + digits)).string();
}

std::vector<uint32_t> wal_writer::list_segments(const std::string& directory) {
  std::vector<uint32_t> result;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(directory, ec)) {
    auto name = f.path().filename().string();
    auto prefix_len = std::strlen(segment_prefix);
    if (name.size() != prefix_len + 10 || name.rfind(segment_prefix, 0) != 0
        || !std::all_of(name.begin() + prefix_len, name.end(),
                        [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    result.push_back(
      static_cast<uint32_t>(std::stoul(name.substr(prefix_len))));
  }
  std::sort(result.begin(), result.end());
  return result;
}

// -- received_block_log -------------------------------------------------------

received_block_log::received_block_log(std::string checkpoint_dir,
                                       wal_sync sync,
                                       duration rolling_interval,
                                       std::shared_ptr<clock> clk)
  : dir_(std::move(checkpoint_dir)),
    sync_(sync),
    rolling_(rolling_interval),
    clk_(std::move(clk)) {
  // nop
}

received_block_log::~received_block_log() {
  // nop
}

std::string received_block_log::stream_dir(int32_t stream_id) const {
  return (fs::path{dir_} / "receivedData" / std::to_string(stream_id))
    .string();
}

std::string received_block_log::allocation_dir() const {
  return (fs::path{dir_} / "receivedBlockMetadata").string();
}

void received_block_log::discard() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::error_code ec;
  auto data = fs::path{dir_} / "receivedData";
  if (!fs::exists(data, ec) && !fs::exists(allocation_dir(), ec))
    return;
  logger("wal")->info("a new run: deleting the write-ahead log of a run "
                      "whose checkpoints are gone from '{}'",
                      dir_);
  fs::remove_all(data, ec);
  fs::remove_all(allocation_dir(), ec);
}

received_block_log::recovered_blocks received_block_log::recover(time after) {
  std::lock_guard<std::mutex> guard{mtx_};
  recovered_blocks result;
  // Which blocks each batch got.
  std::map<time, std::vector<wal_block_key>> batches;
  std::set<wal_block_key> allocated;
  uint32_t next_allocation = 0;
  for (auto n : wal_writer::list_segments(allocation_dir())) {
    auto path = wal_writer::segment_path(allocation_dir(), n);
    auto& seg = allocation_segments_[n];
    for (auto& [offset, payload] : read_segment(path).records) {
      auto [t, keys] = parse_allocation_record(payload, offset, path);
      seg.last_batch = std::max(seg.last_batch, t);
      for (auto& key : keys) {
        seg.blocks.insert(key.first);
        allocated.insert(key);
      }
      auto& xs = batches[t];
      xs.insert(xs.end(), keys.begin(), keys.end());
    }
    next_allocation = n + 1;
  }
  allocations_ = std::make_unique<wal_writer>(allocation_dir(),
                                              next_allocation);
  // The blocks, stream by stream.
  std::map<wal_block_key, block> blocks;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(fs::path{dir_} / "receivedData",
                                              ec)) {
    auto name = d.path().filename().string();
    if (name.empty() || name.size() > 9
        || !std::all_of(name.begin(), name.end(),
                        [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    auto id = static_cast<int32_t>(std::stol(name));
    for (auto n : wal_writer::list_segments(d.path().string())) {
      auto path = wal_writer::segment_path(d.path().string(), n);
      auto& seg = block_segments_[{id, n}];
      for (auto& [offset, payload] : read_segment(path).records) {
        blocks.emplace(wal_block_key{{id, n}, offset},
                       parse_block_record(payload, id, n, offset, path));
        ++seg.blocks;
      }
      next_block_segment_[id] = n + 1;
    }
  }
  for (auto& [t, keys] : batches) {
    for (auto& key : keys) {
      auto i = block_segments_.find(key.first);
      if (i != block_segments_.end()) {
        ++i->second.allocated;
        i->second.last_batch = std::max(i->second.last_batch, t);
      }
    }
    if (t <= after)
      continue;
    // A batch without blocks too: running again, it gets none.
    auto& xs = result.batches[t];
    for (auto& key : keys)
      if (auto j = blocks.find(key); j != blocks.end())
        xs.push_back(j->second);
    if (xs.size() < keys.size())
      result.incomplete.push_back(t);
  }
  // Block keys sort by stream, segment and offset: the order received.
  for (auto& [key, b] : blocks)
    if (allocated.count(key) == 0)
      result.unallocated.push_back(std::move(b));
  return result;
}

received_block_log::stream_log&
received_block_log::log_of(int32_t stream_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& x = streams_[stream_id];
  if (!x) {
    x = std::make_unique<stream_log>();
    auto dir = stream_dir(stream_id);
    uint32_t first = 0;
    if (auto i = next_block_segment_.find(stream_id);
        i != next_block_segment_.end()) {
      first = i->second;
    } else if (auto found = wal_writer::list_segments(dir); !found.empty()) {
      first = found.back() + 1;
    }
    x->writer = std::make_unique<wal_writer>(dir, first);
  }
  return *x;
}

bool received_block_log::roll_due(const wal_writer& x, time opened) const {
  return x.open_segment() && clk_->now() - opened >= rolling_;
}

void received_block_log::roll_if_due(stream_log& s, int32_t stream_id) {
  if (!roll_due(*s.writer, s.opened))
    return;
  auto old = *s.writer->open_segment();
  if (sync_ != wal_sync::never)
    s.writer->sync();
  s.writer->roll();
  std::lock_guard<std::mutex> guard{mtx_};
  block_segments_[{stream_id, old}].open = false;
}

void received_block_log::add(block& b) {
  auto head = block_head(b);
  auto bytes = b.to_bytes();
  auto& s = log_of(b.stream_id);
  std::lock_guard<std::mutex> guard{s.mtx};
  roll_if_due(s, b.stream_id);
  if (!s.writer->open_segment())
    s.opened = clk_->now();
  auto [segment, offset] = s.writer->append(head, bytes);
  if (sync_ == wal_sync::every_block)
    s.writer->sync();
  b.log_segment = segment;
  b.log_offset = offset;
  // Counted before the segment can roll: cleaning never sees a closed
  // segment without all its blocks.
  std::lock_guard<std::mutex> table_guard{mtx_};
  auto& seg = block_segments_[{b.stream_id, segment}];
  ++seg.blocks;
  seg.open = true;
}

void received_block_log::flush(int32_t stream_id) {
  auto& s = log_of(stream_id);
  std::lock_guard<std::mutex> guard{s.mtx};
  roll_if_due(s, stream_id);
  if (sync_ == wal_sync::every_interval)
    s.writer->sync();
}

void received_block_log::allocate(time t, const std::vector<block>& blocks) {
  // Logged even without blocks: a batch that runs again must not take
  // blocks that came after it.
  auto payload = encode_allocation(t, blocks);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!allocations_) {
    auto found = wal_writer::list_segments(allocation_dir());
    allocations_ = std::make_unique<wal_writer>(
      allocation_dir(), found.empty() ? 0 : found.back() + 1);
  }
  if (roll_due(*allocations_, allocations_opened_)) {
    allocation_segments_[*allocations_->open_segment()].open = false;
    allocations_->roll();
  }
  if (!allocations_->open_segment())
    allocations_opened_ = clk_->now();
  auto [segment, offset] = allocations_->append(payload);
  if (sync_ != wal_sync::never)
    allocations_->sync();
  auto& seg = allocation_segments_[segment];
  seg.open = true;
  seg.last_batch = std::max(seg.last_batch, t);
  for (const auto& b : blocks) {
    if (b.log_segment < 0)
      continue;
    auto key = std::make_pair(b.stream_id,
                              static_cast<uint32_t>(b.log_segment));
    seg.blocks.insert(key);
    auto& bs = block_segments_[key];
    ++bs.allocated;
    bs.last_batch = std::max(bs.last_batch, t);
  }
}

void received_block_log::clean(time t) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = block_segments_.begin(); i != block_segments_.end();) {
    auto& seg = i->second;
    if (!seg.open && seg.allocated >= seg.blocks && seg.last_batch <= t) {
      remove_file(wal_writer::segment_path(stream_dir(i->first.first),
                                           i->first.second));
      i = block_segments_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = allocation_segments_.begin();
       i != allocation_segments_.end();) {
    auto& seg = i->second;
    auto blocks_gone = std::none_of(seg.blocks.begin(), seg.blocks.end(),
                                    [&](auto& key) {
                                      return block_segments_.count(key) > 0;
                                    });
    if (!seg.open && seg.last_batch <= t && blocks_gone) {
      remove_file(wal_writer::segment_path(allocation_dir(), i->first));
      i = allocation_segments_.erase(i);
    } else {
      ++i;
    }
  }
}

size_t received_block_log::num_segments() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return block_segments_.size() + allocation_segments_.size();
}

} // namespace caf_stream::detail
