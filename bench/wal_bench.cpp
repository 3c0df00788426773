// The cost of the receiver write-ahead log: a receiver stores blocks of
// 100-byte lines (`store(std::vector)`, which returns once the block is
// logged) with the log off and under each sync policy, then one batch
// counts the words. Beside it, hand-written logs append the same bytes to
// a file with `write`, without and with an fsync per block, in the same
// run. Prints one line per figure and a JSON record.
//
//   wal_bench [--blocks=N] [--lines-per-block=K] [--rounds=R]
//
// Each figure is the median of R rounds, the configurations taking turns
// within a round, so that a noisy moment hits them alike.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "caf_stream/checkpoint/checkpoint.hpp"

using namespace caf_stream;

using bench::arg;
using bench::seconds_since;
using bench::steady;

namespace {

struct figure {
  double stores_per_s = 0;
  int64_t words = 0;
};

// Stores `blocks` through a receiver stream with the log as `sync` says
// (none: off), then counts the words in one batch.
figure run_engine(const std::vector<std::vector<std::string>>& blocks,
                  std::optional<wal_sync> sync) {
  auto opts = bench::options();
  opts.workers = 2;
  opts.block_queue_size = blocks.size() + 1;
  opts.write_ahead_log = sync.has_value();
  if (sync)
    opts.write_ahead_log_sync = *sync;
  bench::driver d{opts};
  auto& ssc = d.context();
  auto owned = std::make_unique<testing::push_receiver<std::string>>();
  auto* rcv = owned.get();
  figure result;
  ssc.receiver_stream<std::string>(std::move(owned))
    .flat_map(bench::split)
    .count()
    .foreach_rdd([&](const rdd<int64_t>& x) {
      for (auto n : x.collect())
        result.words += n;
      d.batch_done();
    });
  ssc.start();
  auto t0 = steady::now();
  for (auto& xs : blocks)
    rcv->push(xs);
  result.stores_per_s = static_cast<double>(blocks.size()) / seconds_since(t0);
  d.next();
  ssc.stop();
  return result;
}

// Appends the blocks' bytes to a file, one `write` per block with a length
// and checksum, as a hand-written log would; with `fsync` after each.
double run_baseline(const std::vector<std::vector<std::string>>& blocks,
                    bool fsync) {
  testing::temporary_directory dir;
  auto path = (std::filesystem::path{dir.path()} / "log").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  auto t0 = steady::now();
  for (auto& xs : blocks) {
    std::string record(8, '\0');
    for (auto& x : xs) {
      record += x;
      record += '\n';
    }
    auto crc = detail::crc32(record.data() + 8, record.size() - 8);
    std::memcpy(record.data() + 4, &crc, 4);
    if (::write(fd, record.data(), record.size()) < 0)
      std::perror("write");
    if (fsync)
      ::fsync(fd);
  }
  auto s = seconds_since(t0);
  ::close(fd);
  return static_cast<double>(blocks.size()) / s;
}

} // namespace

int main(int argc, char** argv) {
  bench::check_args(argc, argv,
                    "wal_bench [--blocks=N] [--lines-per-block=K] [--rounds=R]",
                    {"blocks", "lines-per-block", "rounds"});
  auto num_blocks = arg(argc, argv, "blocks", 5000);
  auto per_block = arg(argc, argv, "lines-per-block", 100);
  auto lines = bench::make_lines(num_blocks * per_block);
  std::vector<std::vector<std::string>> blocks(num_blocks);
  for (size_t i = 0; i < lines.size(); ++i)
    blocks[i / per_block].push_back(lines[i]);
  int64_t expected = 0;
  for (auto& line : lines)
    expected += static_cast<int64_t>(bench::split(line).size());

  auto rounds = std::max<size_t>(1, arg(argc, argv, "rounds", 5));
  std::vector<double> hand_writes, hand_fsyncs;
  std::vector<figure> offs, nevers, intervals, everys;
  for (size_t r = 0; r < rounds; ++r) {
    hand_writes.push_back(run_baseline(blocks, false));
    hand_fsyncs.push_back(run_baseline(blocks, true));
    offs.push_back(run_engine(blocks, std::nullopt));
    nevers.push_back(run_engine(blocks, wal_sync::never));
    intervals.push_back(run_engine(blocks, wal_sync::every_interval));
    everys.push_back(run_engine(blocks, wal_sync::every_block));
  }
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  auto median_of = [&](const std::vector<figure>& xs) {
    std::vector<double> rates;
    for (auto& x : xs)
      rates.push_back(x.stores_per_s);
    return median(rates);
  };
  bool agree = true;
  for (auto* xs : {&offs, &nevers, &intervals, &everys})
    for (auto& x : *xs)
      agree = agree && x.words == expected;
  auto hand_write = median(hand_writes);
  auto hand_fsync = median(hand_fsyncs);
  auto off = median_of(offs);
  auto never = median_of(nevers);
  auto interval = median_of(intervals);
  auto every = median_of(everys);

  std::printf("blocks of %zu lines (%zu bytes), %zu blocks, median of %zu "
              "rounds\n",
              per_block, per_block * 101, num_blocks, rounds);
  std::printf("hand-written log, write per block:         %10.0f blocks/s\n",
              hand_write);
  std::printf("hand-written log, write + fsync per block: %10.0f blocks/s\n",
              hand_fsync);
  std::printf("store, log off:                            %10.0f blocks/s\n",
              off);
  std::printf("store, log sync=never:                     %10.0f blocks/s "
              "(%.2f x log off, %.2f x hand-written write)\n",
              never, never / off,
              never / hand_write);
  std::printf("store, log sync=every-interval:            %10.0f blocks/s "
              "(%.2f x log off)\n",
              interval, interval / off);
  std::printf("store, log sync=every-block:               %10.0f blocks/s "
              "(%.2f x log off, %.2f x hand-written write + fsync)\n",
              every, every / off,
              every / hand_fsync);
  std::printf("answers agree: %s (%lld words)\n", agree ? "yes" : "NO",
              static_cast<long long>(expected));
  std::printf(
    "{\"workload\":\"wal\",\"blocks\":%zu,\"lines_per_block\":%zu,"
    "\"hand_write_blocks_per_s\":%.0f,\"hand_fsync_blocks_per_s\":%.0f,"
    "\"off_blocks_per_s\":%.0f,\"never_blocks_per_s\":%.0f,"
    "\"every_interval_blocks_per_s\":%.0f,\"every_block_blocks_per_s\":%.0f,"
    "\"never_vs_hand_write\":%.3f,\"every_block_vs_hand_fsync\":%.3f,"
    "\"answers_agree\":%s}\n",
    num_blocks, per_block, hand_write, hand_fsync, off,
    never, interval, every,
    never / hand_write, every / hand_fsync,
    agree ? "true" : "false");
  return agree ? 0 : 1;
}
