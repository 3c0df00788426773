// The chaos run: feeds chaos_child records 0..N-1 over TCP, SIGKILLs it at
// random moments and starts it again on the same checkpoint directory, then
// checks that the output holds every record once and the final totals
// match: what an uninterrupted run writes.
//
//   chaos CHILD [--kills K] [--batches B] [--seed S] [--dir D]
//         [--without-wal]
//
// `--without-wal` turns the child's receiver write-ahead log off, to see
// what it saves.
//
// The driver is a reliable source: it sends one chunk at a time and the
// next only after the child acknowledged the last (its block is in the
// write-ahead log), and sends again from the first unacknowledged record
// after a restart. A kill waits for the chunk in flight to be acknowledged,
// so that "acknowledged" is never in doubt; it lands anywhere else (a batch
// running, a checkpoint or an allocation being written, a recovery).
// Prints the figures and exits non-zero if a record was lost or duplicated
// or the totals are wrong.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace fs = std::filesystem;

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int64_t batch_ms = 50;

// A chunk goes out every this often: 5 chunks per batch.
constexpr int64_t chunk_ms = 10;

constexpr int64_t records_per_chunk = 20;

struct options {
  std::string child;
  int kills = 20;
  int64_t batches = 1000;
  uint32_t seed = 1;
  std::string dir;
  bool without_wal = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "chaos: " << why
            << "\nusage: chaos CHILD [--kills K] [--batches B] [--seed S] "
               "[--dir D] [--without-wal]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options result;
  if (argc < 2)
    usage("the child program is missing");
  result.child = argv[1];
  if (::access(result.child.c_str(), X_OK) != 0)
    usage(result.child + " is not a program to run: the child program comes "
                         "first");
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--without-wal") {
      result.without_wal = true;
      continue;
    }
    if (i + 1 == argc)
      usage(flag + " needs a value");
    std::string value = argv[++i];
    try {
      if (flag == "--kills")
        result.kills = std::stoi(value);
      else if (flag == "--batches")
        result.batches = std::stoll(value);
      else if (flag == "--seed")
        result.seed = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--dir")
        result.dir = value;
      else
        usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage(flag + " " + value + " is not a number");
    }
  }
  if (result.kills < 0 || result.batches < 10)
    usage("--kills must not be negative and --batches at least 10");
  return result;
}

int listen_on_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 4) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<milliseconds>(clock_type::now() - t)
    .count();
}

// The child and the connection its receiver opened.
class session {
public:
  session(const options& opts, const std::string& checkpoints,
          const std::string& out, uint16_t port)
    : proc_(std::make_unique<support::child_process>(std::vector<std::string>{
      opts.child, checkpoints, out, std::to_string(port)})),
      started_(clock_type::now()) {
    // nop
  }

  ~session() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  support::child_process& proc() {
    return *proc_;
  }

  int fd() const {
    return fd_;
  }

  void connect(int fd) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
    buf_.clear();
  }

  void disconnect() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  // The acknowledgements that arrived; none if the connection ended.
  std::optional<std::vector<int64_t>> read_acks() {
    char chunk[4096];
    auto n = ::read(fd_, chunk, sizeof(chunk));
    if (n <= 0)
      return std::nullopt;
    buf_.append(chunk, static_cast<size_t>(n));
    std::vector<int64_t> result;
    for (auto nl = buf_.find('\n'); nl != std::string::npos;
         nl = buf_.find('\n')) {
      auto line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.rfind("ack ", 0) == 0)
        result.push_back(std::stoll(line.substr(4)));
    }
    return result;
  }

  clock_type::time_point started() const {
    return started_;
  }

private:
  std::unique_ptr<support::child_process> proc_;
  clock_type::time_point started_;
  int fd_ = -1;
  std::string buf_;
};

struct verdict {
  int64_t seen = 0;
  int64_t lost = 0;
  int64_t duplicated = 0;
  bool totals_match = false;
};

verdict check_output(const std::string& out, int64_t records) {
  verdict result;
  std::vector<int> count(static_cast<size_t>(records), 0);
  for (const auto& f : fs::directory_iterator(out)) {
    if (f.path().filename().string().rfind("batch-", 0) != 0)
      continue;
    std::ifstream in{f.path()};
    for (int64_t n; in >> n;) {
      ++result.seen;
      if (n >= 0 && n < records)
        ++count[static_cast<size_t>(n)];
    }
  }
  for (auto c : count) {
    if (c == 0)
      ++result.lost;
    else if (c > 1)
      result.duplicated += c - 1;
  }
  std::map<int64_t, int64_t> expected;
  for (int64_t n = 0; n < records; ++n)
    ++expected[n % 10];
  std::map<int64_t, int64_t> totals;
  std::ifstream in{fs::path{out} / "totals"};
  for (int64_t k, n; in >> k >> n;)
    totals[k] = n;
  result.totals_match = totals == expected;
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  if (opts.without_wal)
    ::setenv("CAF_STREAM_CHAOS_WITHOUT_WAL", "1", 1);
  std::string base = opts.dir.empty() ? fs::temp_directory_path() / "chaos-run"
                                      : fs::path{opts.dir};
  fs::remove_all(base);
  auto checkpoints = (fs::path{base} / "checkpoints").string();
  auto out = (fs::path{base} / "out").string();
  fs::create_directories(checkpoints);
  fs::create_directories(out);
  uint16_t port = 0;
  int listener = listen_on_loopback(port);
  // The feed lasts `batches` batch intervals.
  auto chunks = opts.batches * batch_ms / chunk_ms;
  auto records = chunks * records_per_chunk;
  std::mt19937 rng{opts.seed};
  std::vector<int64_t> kill_at;
  std::uniform_int_distribution<int64_t> when{opts.batches * batch_ms / 20,
                                              opts.batches * batch_ms};
  for (int i = 0; i < opts.kills; ++i)
    kill_at.push_back(when(rng));
  std::sort(kill_at.begin(), kill_at.end());
  std::cout << "chaos: " << records << " records in chunks of "
            << records_per_chunk << " every " << chunk_ms << " ms over "
            << opts.batches << " batches of " << batch_ms << " ms, "
            << opts.kills << " kills (seed " << opts.seed << ")" << std::endl;
  auto run_start = clock_type::now();
  auto current = std::make_unique<session>(opts, checkpoints, out, port);
  int64_t acked = 0;    // records 0..acked-1 are acknowledged
  int64_t in_flight = 0; // records of the chunk awaiting its ack
  int64_t feed_ms = 0;   // feed time, which stops while the child is down
  auto last_tick = clock_type::now();
  auto next_chunk = clock_type::now();
  size_t kills_done = 0;
  std::vector<int64_t> recovery_ms;
  // When the child was last killed, while it has not caught up since.
  bool catching_up = false;
  clock_type::time_point killed_at;
  // When the last record was acknowledged after the last kill.
  std::optional<clock_type::time_point> fed_at;
  auto next_check = clock_type::now();
  auto fail = [&](const std::string& why) {
    std::cout << "chaos: FAILED: " << why << std::endl;
    std::exit(1);
  };
  for (;;) {
    auto now = clock_type::now();
    if (current->fd() >= 0)
      feed_ms += std::chrono::duration_cast<milliseconds>(now - last_tick)
                   .count();
    last_tick = now;
    // The child's lines: its start and when it is on schedule again.
    while (auto line = current->proc().try_read_line()) {
      if (line->rfind("error", 0) == 0)
        fail("the child failed: " + *line);
      if (line->rfind("on-schedule ", 0) == 0 && catching_up) {
        recovery_ms.push_back(ms_since(killed_at));
        catching_up = false;
      }
    }
    if (auto status = current->proc().exit_status_if_done())
      fail("the child exited with status " + std::to_string(*status));
    // A kill is due: once the chunk in flight is acknowledged.
    if (kills_done < kill_at.size() && feed_ms >= kill_at[kills_done]
        && in_flight == 0 && current->fd() >= 0) {
      current->proc().kill();
      ++kills_done;
      if (catching_up)
        recovery_ms.push_back(-1);
      catching_up = true;
      killed_at = clock_type::now();
      current = std::make_unique<session>(opts, checkpoints, out, port);
      continue;
    }
    // The next chunk, when its time came and the last one is acknowledged.
    if (current->fd() >= 0 && in_flight == 0 && acked < records
        && now >= next_chunk) {
      auto n = std::min(records_per_chunk, records - acked);
      std::string line;
      for (int64_t i = acked; i < acked + n; ++i)
        line += std::to_string(i) + " ";
      line.back() = '\n';
      if (::send(current->fd(), line.data(), line.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(line.size()))
        in_flight = n;
      next_chunk = std::max(next_chunk + milliseconds(chunk_ms),
                            now - milliseconds(chunk_ms));
    }
    // All acknowledged and killed: done once the output holds every
    // record (the last batches may still run), looked at twice a second, or
    // after a bound.
    if (acked == records && kills_done == kill_at.size() && !fed_at) {
      fed_at = now;
      next_check = now;
    }
    if (fed_at && now >= next_check) {
      auto v = check_output(out, records);
      if ((v.lost == 0 && v.totals_match)
          || now - *fed_at > std::chrono::seconds(30))
        break;
      next_check += milliseconds(500);
    }
    pollfd fds[2] = {{listener, POLLIN, 0}, {current->fd(), POLLIN, 0}};
    auto nfds = current->fd() >= 0 ? 2 : 1;
    ::poll(fds, static_cast<nfds_t>(nfds), 5);
    if ((fds[0].revents & POLLIN) != 0) {
      // A receiver (re)connected: what it had not acknowledged goes again.
      current->connect(::accept(listener, nullptr, nullptr));
      in_flight = 0;
    }
    if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      auto acks = current->read_acks();
      if (!acks) {
        current->disconnect();
        in_flight = 0;
      } else if (!acks->empty()) {
        acked = acks->back() + 1;
        in_flight = 0;
      }
    }
  }
  current->proc().kill();
  ::close(listener);
  // The last restart that had not caught up when the run ended.
  if (catching_up)
    recovery_ms.push_back(-2);
  auto v = check_output(out, records);
  auto elapsed = ms_since(run_start);
  std::sort(recovery_ms.begin(), recovery_ms.end());
  std::cout << "chaos: " << kills_done << " kills survived over "
            << elapsed / 1000.0 << " s" << std::endl;
  std::cout << "chaos: records " << records << ", in the output " << v.seen
            << ", lost " << v.lost << ", duplicated " << v.duplicated
            << ", final totals " << (v.totals_match ? "match" : "DIFFER")
            << std::endl;
  std::cout << "chaos: time to be on schedule again after a kill (ms):";
  // -1: killed again before it was; -2: the run ended before it was.
  for (auto x : recovery_ms)
    std::cout << " "
              << (x == -1   ? std::string{"killed-again-before"}
                  : x == -2 ? std::string{"run-ended-before"}
                            : std::to_string(x));
  std::cout << std::endl;
  std::cout << "{\"kills\": " << kills_done << ", \"records\": " << records
            << ", \"lost\": " << v.lost << ", \"duplicated\": " << v.duplicated
            << ", \"totals_match\": " << (v.totals_match ? "true" : "false")
            << ", \"max_recovery_ms\": "
            << (recovery_ms.empty() ? 0 : recovery_ms.back()) << "}"
            << std::endl;
  if (v.lost != 0 || v.duplicated != 0 || !v.totals_match)
    return 1;
  fs::remove_all(base);
  return 0;
}
