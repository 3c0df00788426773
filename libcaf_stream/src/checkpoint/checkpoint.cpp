#include "caf_stream/checkpoint/checkpoint.hpp"
#include "caf_stream/checkpoint/checkpoint_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/detail/bytes.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/detail/sync_directory.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::detail {

namespace {

using crc_table = std::array<uint32_t, 256>;

// Slicing-by-8: table `k` gives a byte's contribution `k` bytes further
// on, so eight bytes take one step.
const std::array<crc_table, 8>& crc_tables() {
  static const auto tables = [] {
    std::array<crc_table, 8> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      auto c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t k = 1; k < 8; ++k)
        t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
  }();
  return tables;
}

uint32_t load_le32(const unsigned char* p) noexcept {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8
         | static_cast<uint32_t>(p[2]) << 16
         | static_cast<uint32_t>(p[3]) << 24;
}

} // namespace

uint32_t crc32(const char* data, size_t n, uint32_t crc) noexcept {
  const auto& t = crc_tables();
  auto p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    auto lo = c ^ load_le32(p);
    auto hi = load_le32(p + 4);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF]
        ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF]
        ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n)
    c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

namespace {

namespace fs = std::filesystem;

constexpr char magic[8] = {'C', 'A', 'F', 'S', 'C', 'K', 'P', 'T'};

constexpr size_t header_size = sizeof(magic) + 4 + 8 + 4;

// A record larger than this is not ours (a corrupt length field).
constexpr uint64_t max_payload = uint64_t{1} << 40;

constexpr const char* prefix = "checkpoint-";

constexpr const char* data_suffix = "-state";

std::string encode(const checkpoint_record& x) {
  std::string result;
  string_sink out{result};
  {
    boost::archive::binary_oarchive ar{out, boost::archive::no_header};
    ar << x.time_ms << x.batch_interval_ms << x.zero_ms << x.graph_fingerprint
       << x.pending_ms << x.data_time_ms << x.node_data << x.input_data;
  }
  return result;
}

// Version 1 is the first format; later versions add a case here and keep
// this one, so that old checkpoints stay readable.
void decode(uint32_t version, const std::string& payload, checkpoint_record& x) {
  bytes_source in{payload};
  bounded_iarchive ar{in};
  switch (version) {
    case 1:
      ar >> x.time_ms >> x.batch_interval_ms >> x.zero_ms
        >> x.graph_fingerprint >> x.pending_ms >> x.data_time_ms >> x.node_data
        >> x.input_data;
      break;
    default:
      throw stream_error(errc::bad_checkpoint,
                         "unknown checkpoint format version "
                           + std::to_string(version));
  }
  x.version = version;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw stream_error(errc::bad_checkpoint,
                     "cannot read checkpoint '" + path + "': " + what);
}

// Time and kind from a file name, or none if it is not a checkpoint's.
std::optional<std::pair<int64_t, bool>> parse_name(const std::string& name) {
  if (name.rfind(prefix, 0) != 0)
    return std::nullopt;
  auto rest = name.substr(std::strlen(prefix));
  bool data = false;
  if (rest.size() > std::strlen(data_suffix)
      && rest.compare(rest.size() - std::strlen(data_suffix),
                      std::string::npos, data_suffix)
           == 0) {
    data = true;
    rest.resize(rest.size() - std::strlen(data_suffix));
  }
  if (rest.empty() || rest.size() > 18
      || !std::all_of(rest.begin(), rest.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::make_pair(std::stoll(rest), data);
}

std::string file_name(int64_t time_ms, bool data) {
  auto digits = std::to_string(time_ms);
  if (digits.size() < 13)
    digits.insert(0, 13 - digits.size(), '0');
  return prefix + digits + (data ? data_suffix : "");
}

// The name of the temporary file that becomes checkpoint `name`.
std::string temporary_name(const std::string& name) {
  return "." + name + ".tmp";
}

// Removes what writes that a crash cut short left in `directory`: their
// temporary files, which no write of this run has made yet.
void remove_torn_writes(const std::string& directory) {
  auto extra = temporary_name("").size();
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(directory, ec)) {
    auto name = f.path().filename().string();
    if (name.size() <= extra)
      continue;
    auto checkpoint = name.substr(1, name.size() - extra);
    if (parse_name(checkpoint) && temporary_name(checkpoint) == name)
      fs::remove(f.path(), ec);
  }
}

struct entry {
  int64_t time_ms;
  bool data;
  fs::path path;
};

// Whether checkpoint file `a` sorts before `b`: newer first, a data file
// before a metadata file of the same time.
template <class File>
bool newer(const File& a, const File& b) {
  return a.time_ms != b.time_ms ? a.time_ms > b.time_ms : a.data > b.data;
}

// Checkpoint files of `directory`, newest first.
std::vector<entry> entries(const std::string& directory) {
  std::vector<entry> result;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(directory, ec))
    if (auto parsed = parse_name(f.path().filename().string()))
      result.push_back({parsed->first, parsed->second, f.path()});
  if (ec)
    throw stream_error(errc::bad_checkpoint, "cannot list checkpoint "
                                             "directory '"
                                               + directory
                                               + "': " + ec.message());
  std::sort(result.begin(), result.end(), newer<entry>);
  return result;
}

// Which of `files` (newest first) go: those beyond the newest `keep` of
// each kind, and metadata records older than the oldest kept data record,
// which have nothing left to build on.
template <class File>
std::vector<bool> stale(const std::vector<File>& files, size_t keep) {
  size_t metadata = 0;
  size_t data = 0;
  std::optional<int64_t> oldest_data;
  for (const auto& f : files)
    if (f.data && ++data <= keep)
      oldest_data = f.time_ms;
  data = 0;
  std::vector<bool> result;
  result.reserve(files.size());
  for (const auto& f : files) {
    bool kept = f.data ? ++data <= keep
                       : ++metadata <= keep && oldest_data
                           && f.time_ms > *oldest_data;
    result.push_back(!kept);
  }
  return result;
}

// Writes `n` bytes at `data` to `fd`; false, with `errno` set, if the
// system refuses.
bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    auto written = ::write(fd, data, n);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return false;
    data += written;
    n -= static_cast<size_t>(written);
  }
  return true;
}

[[noreturn]] void fail_io(const std::string& what, const fs::path& path) {
  throw stream_error(errc::bad_checkpoint, "cannot " + what + " checkpoint '"
                                             + path.string()
                                             + "': " + std::strerror(errno));
}

// Writes `x` to `dir` atomically (a temporary file, then a rename) and
// durably: the file is synced before it gets its name and the directory
// after, since the write-ahead log deletes what the record no longer needs
// once it is written, and a power loss must not leave the log short and
// the record torn. Returns the file's name.
std::string write_file(const fs::path& dir, const checkpoint_record& x) {
  auto payload = encode(x);
  std::string header{magic, sizeof(magic)};
  put_le<uint32_t>(header, checkpoint_record::current_version);
  put_le<uint64_t>(header, payload.size());
  put_le<uint32_t>(header, crc32(payload.data(), payload.size()));
  auto name = file_name(x.time_ms, x.has_data());
  auto target = dir / name;
  auto tmp = dir / temporary_name(name);
  {
    unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        0644)};
    if (fd.get() < 0)
      fail_io("create", tmp);
    if (!write_all(fd.get(), header.data(), header.size())
        || !write_all(fd.get(), payload.data(), payload.size()))
      fail_io("write", tmp);
    if (::fsync(fd.get()) != 0)
      fail_io("sync", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec)
    throw stream_error(errc::bad_checkpoint, "cannot rename checkpoint to '"
                                               + target.string()
                                               + "': " + ec.message());
  if (!sync_directory(dir.string()))
    throw stream_error(errc::bad_checkpoint,
                       "cannot sync the checkpoint directory '" + dir.string()
                         + "': " + std::strerror(errno));
  return name;
}

} // namespace

void pending_checkpoints::add(checkpoint_record x) {
  if (x.has_data()) {
    metadata_.reset();
    data_ = std::move(x);
  } else {
    metadata_ = std::move(x);
  }
}

std::vector<checkpoint_record> pending_checkpoints::take() {
  std::vector<checkpoint_record> result;
  if (data_)
    result.push_back(std::move(*data_));
  if (metadata_)
    result.push_back(std::move(*metadata_));
  data_.reset();
  metadata_.reset();
  return result;
}

void write_checkpoint(const std::string& directory,
                      const checkpoint_record& x, size_t keep) {
  checkpoint_directory{directory, keep}.write(x);
}

checkpoint_directory::checkpoint_directory(std::string directory, size_t keep)
  : directory_(std::move(directory)), keep_(keep) {
  // nop
}

void checkpoint_directory::write(const checkpoint_record& x) {
  auto dir = fs::path{directory_};
  if (!files_)
    remove_torn_writes(directory_);
  auto name = write_file(dir, x);
  if (!files_) {
    files_.emplace();
    for (auto& e : entries(directory_))
      files_->push_back({e.time_ms, e.data, e.path.filename().string()});
  } else {
    file written{x.time_ms, x.has_data(), std::move(name)};
    auto i = std::lower_bound(files_->begin(), files_->end(), written,
                              newer<file>);
    if (i == files_->end() || i->name != written.name)
      files_->insert(i, std::move(written));
  }
  // A file that cannot be deleted now is tried again after the next write.
  auto gone = stale(*files_, keep_);
  std::vector<file> left;
  for (size_t k = 0; k < files_->size(); ++k) {
    auto& f = (*files_)[k];
    if (gone[k]) {
      std::error_code ec;
      fs::remove(dir / f.name, ec);
      if (!ec)
        continue;
    }
    left.push_back(std::move(f));
  }
  *files_ = std::move(left);
}

checkpoint_directory_lock::checkpoint_directory_lock(
  const std::string& directory) {
  auto path = (fs::path{directory} / file_name).string();
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd_.get() < 0)
    throw stream_error(errc::bad_checkpoint,
                       "cannot use the checkpoint directory '" + directory
                         + "': cannot open '" + path
                         + "': " + std::strerror(errno));
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      throw stream_error(errc::bad_checkpoint,
                         "cannot lock the checkpoint directory '" + directory
                           + "': " + std::strerror(errno));
    // Its holder wrote its process id once it had the lock, unless it has
    // not got that far.
    char text[32] = {};
    auto n = ::pread(fd_.get(), text, sizeof(text) - 1, 0);
    std::string holder{text, n > 0 ? static_cast<size_t>(n) : 0};
    holder.erase(holder.find_last_not_of(" \n") + 1);
    throw stream_error(errc::illegal_state,
                       "the checkpoint directory '" + directory
                         + "' is in use by another running streaming context"
                         + (holder.empty() ? "" : " (process " + holder + ")")
                         + ": each application needs a checkpoint directory "
                           "of its own");
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) != 0
      || ::pwrite(fd_.get(), pid.data(), pid.size(), 0) < 0)
    return; // The id only names the holder in others' messages.
}

checkpoint_record read_checkpoint(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    bad(path, std::strerror(errno));
  std::string bytes{std::istreambuf_iterator<char>{in},
                    std::istreambuf_iterator<char>{}};
  return parse_checkpoint(bytes, path);
}

checkpoint_record parse_checkpoint(const std::string& bytes,
                                   const std::string& path) {
  if (bytes.size() < header_size
      || std::memcmp(bytes.data(), magic, sizeof(magic)) != 0)
    bad(path, "not a caf-stream checkpoint");
  auto version = get_le<uint32_t>(bytes.data() + 8);
  auto size = get_le<uint64_t>(bytes.data() + 12);
  auto crc = get_le<uint32_t>(bytes.data() + 20);
  if (version == 0)
    bad(path, "format version 0 does not exist (corrupt)");
  if (version > checkpoint_record::current_version)
    bad(path, "format version " + std::to_string(version)
                + " is newer than this program's ("
                + std::to_string(checkpoint_record::current_version) + ")");
  if (size > max_payload || bytes.size() - header_size != size)
    bad(path, "truncated (" + std::to_string(bytes.size() - header_size)
                + " of " + std::to_string(size) + " bytes)");
  auto payload = bytes.substr(header_size);
  if (crc32(payload.data(), payload.size()) != crc)
    bad(path, "checksum mismatch (corrupt)");
  checkpoint_record result;
  try {
    decode(version, payload, result);
  } catch (const stream_error&) {
    throw;
  } catch (const std::exception& e) {
    bad(path, std::string{"malformed record: "} + e.what());
  }
  return result;
}

std::vector<std::string> list_checkpoints(const std::string& directory) {
  std::vector<std::string> result;
  for (auto& e : entries(directory))
    result.push_back(e.path.string());
  return result;
}

std::optional<recovered_checkpoint>
find_checkpoint(const std::string& directory) {
  auto log = logger("checkpoint");
  std::error_code ec;
  if (!fs::exists(directory, ec))
    return std::nullopt;
  if (!fs::is_directory(directory, ec))
    throw stream_error(errc::bad_checkpoint,
                       "'" + directory + "' is not a checkpoint directory");
  auto all = entries(directory);
  if (all.empty())
    return std::nullopt;
  std::map<int64_t, fs::path> data_files;
  for (const auto& e : all)
    if (e.data)
      data_files.emplace(e.time_ms, e.path);
  std::string first_error;
  auto note = [&](const std::string& what) {
    log->warn("{}; trying an older checkpoint", what);
    if (first_error.empty())
      first_error = what;
  };
  for (const auto& e : all) {
    try {
      auto latest = read_checkpoint(e.path.string());
      if (latest.has_data())
        return recovered_checkpoint{latest, latest};
      if (latest.data_time_ms == latest.zero_ms) {
        // No state written yet: the streams start empty at zero.
        checkpoint_record empty;
        empty.time_ms = empty.data_time_ms = latest.zero_ms;
        return recovered_checkpoint{latest, empty};
      }
      auto i = data_files.find(latest.data_time_ms);
      if (i == data_files.end()) {
        note("checkpoint '" + e.path.string() + "' builds on state of "
             + std::to_string(latest.data_time_ms) + " ms, which is missing");
        continue;
      }
      return recovered_checkpoint{latest, read_checkpoint(i->second.string())};
    } catch (const stream_error& err) {
      note(err.what());
    }
  }
  throw stream_error(errc::bad_checkpoint,
                     "no readable checkpoint in '" + directory
                       + "' (newest error: " + first_error + ")");
}

} // namespace caf_stream::detail
