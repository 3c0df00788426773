// The application the chaos run kills: a stateful pipeline with 50 ms
// batches and the receiver write-ahead log on, restarted with
// `get_or_create` after each kill.
//
//   chaos_child CHECKPOINT_DIR OUT_DIR PORT
//
// Its receiver reads chunks of record numbers from the driver on
// 127.0.0.1:PORT, one line "n n n ...\n" per chunk, stores each chunk as a
// block and answers "ack <last n>\n" once `store` returned (the block is in
// the log). Every batch writes OUT_DIR/batch-<ms> (its records, one per
// line) and OUT_DIR/totals (the running count of records per key
// `n % 10`, "key count" per line, after the batch), each whole, by rename:
// a batch that runs again overwrites what it wrote before.
//
// Prints "on-schedule <ms>" once, when the first batch completes within two
// batch intervals of its time, with the milliseconds since the program
// started. The environment variable CAF_STREAM_CHAOS_WITHOUT_WAL turns
// the write-ahead log off (the driver's `--without-wal`).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "caf_stream/all.hpp"

#include "support/words.hpp"

using namespace caf_stream;

namespace fs = std::filesystem;

namespace {

constexpr auto batch_interval = std::chrono::milliseconds(50);

const auto program_start = std::chrono::steady_clock::now();

// Writes `text` to `path` whole: a temporary file, then a rename.
void write_whole(const fs::path& path, const std::string& text) {
  auto tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << text;
    if (!out.flush())
      throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

// Reads chunks of record numbers from the driver, stores each as a block,
// acknowledges it.
class chunk_receiver final : public receiver<int64_t> {
public:
  explicit chunk_receiver(uint16_t port) : port_(port) {
    // nop
  }

  void on_start() override {
    thread_ = std::thread{[this] { run(); }};
  }

  void on_stop() override {
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      restart("cannot connect to the driver", std::chrono::milliseconds(100));
      return;
    }
    std::string buf;
    char chunk[64 * 1024];
    while (!is_stopped()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      auto n = ::read(fd, chunk, sizeof(chunk));
      if (n <= 0)
        break;
      buf.append(chunk, static_cast<size_t>(n));
      for (auto nl = buf.find('\n'); nl != std::string::npos;
           nl = buf.find('\n')) {
        std::vector<int64_t> xs;
        for (auto& w : support::split_words(buf.substr(0, nl)))
          xs.push_back(std::stoll(w));
        buf.erase(0, nl + 1);
        if (xs.empty())
          continue;
        auto last = xs.back();
        store(std::move(xs));
        auto ack = "ack " + std::to_string(last) + "\n";
        if (::send(fd, ack.data(), ack.size(), MSG_NOSIGNAL) <= 0)
          break;
      }
    }
    ::close(fd);
    if (!is_stopped())
      restart("the driver closed the connection",
              std::chrono::milliseconds(100));
  }

  uint16_t port_;
  std::thread thread_;
};

// Prints when the batches are on schedule again.
class schedule_watch final : public streaming_listener {
public:
  void on_batch_completed(const batch_info& info) override {
    if (reported_ || !info.processing_end_time)
      return;
    if (*info.processing_end_time - info.batch_time > batch_interval * 2)
      return;
    reported_ = true;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - program_start)
                .count();
    std::cout << "on-schedule " << ms << std::endl;
  }

private:
  std::atomic<bool> reported_{false};
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: chaos_child CHECKPOINT_DIR OUT_DIR PORT\n";
    return 2;
  }
  std::string checkpoints = argv[1];
  fs::path out = argv[2];
  auto port = static_cast<uint16_t>(std::stoi(argv[3]));
  try {
    auto ssc = streaming_context::get_or_create(checkpoints, [&] {
      stream_options opts;
      opts.block_interval = std::chrono::milliseconds(10);
      opts.receiver_restart_delay = std::chrono::milliseconds(100);
      opts.write_ahead_log
        = std::getenv("CAF_STREAM_CHAOS_WITHOUT_WAL") == nullptr;
      auto ctx = std::make_unique<streaming_context>(batch_interval, opts);
      ctx->checkpoint(checkpoints);
      auto records = ctx->receiver_stream<int64_t>(
        std::make_unique<chunk_receiver>(port));
      records.foreach_rdd([out](const rdd<int64_t>& x, caf_stream::time t) {
        std::string text;
        for (auto n : x.collect())
          text += std::to_string(n) + "\n";
        write_whole(out / ("batch-" + std::to_string(t.milliseconds())), text);
      });
      records
        .map([](int64_t n) { return std::make_pair(n % 10, int64_t{1}); })
        .update_state_by_key(support::running_total)
        .checkpoint(batch_interval * 10)
        .foreach_rdd([out](const rdd<std::pair<int64_t, int64_t>>& x) {
          std::map<int64_t, int64_t> totals;
          for (auto& [k, n] : x.collect())
            totals[k] = n;
          std::string text;
          for (auto& [k, n] : totals)
            text += std::to_string(k) + " " + std::to_string(n) + "\n";
          write_whole(out / "totals", text);
        });
      return ctx;
    });
    ssc->add_streaming_listener(std::make_shared<schedule_watch>());
    ssc->start();
    std::cout << (ssc->is_recovered() ? "recovered" : "started") << std::endl;
    // Runs until killed; stdin closing ends it gracefully.
    for (std::string line; std::getline(std::cin, line);) {
      // nop
    }
    ssc->stop(true);
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
