// A word count over a receiver with the write-ahead log on, under a manual
// clock, for the kill-and-recover test of the receiver write-ahead log: the
// test kills it with SIGKILL and starts it again on the same checkpoint
// directory.
//
//   wal_child CHECKPOINT_DIR START_MS
//
// Commands on stdin, one per line:
//   store W...  the receiver stores the words as one block; prints "stored"
//               once `store` returned
//   tick        cut the next batch, wait for it, print its line (below)
//   await       wait for the batch of the clock's time, print its line
//   hold        the next batch's output blocks for good; prints "ok"
//   cut         cut the next batch, print "holding <ms>" once its output
//               blocks
//   stop        stop gracefully, print "stopped"
// A batch's line is "batch <ms> <words> | <totals>": the batch's words
// sorted, then the running totals "word=n," sorted by word.

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_results.hpp"
#include "support/child_commands.hpp"
#include "support/words.hpp"

using namespace caf_stream;

namespace {

// What a batch's outputs produced: its words, sorted, and the totals.
struct batch_line {
  std::vector<std::string> words;
  std::map<std::string, int64_t> totals;
};

std::string render(int64_t t, const std::optional<batch_line>& x) {
  if (!x)
    return "timeout";
  std::string out = "batch " + std::to_string(t) + " ";
  for (auto& w : x->words)
    out += w + ",";
  out += " | ";
  for (auto& [w, n] : x->totals)
    out += w + "=" + std::to_string(n) + ",";
  return out;
}

// Holds the output of the batch after `hold_next` for good.
class hold_gate {
public:
  void hold_next() {
    std::lock_guard<std::mutex> guard{mtx_};
    hold_next_ = true;
  }

  // Called by the output: blocks for good if this batch is held.
  void pass(int64_t t) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!std::exchange(hold_next_, false))
      return;
    holding_ = t;
    cv_.notify_all();
    for (;;)
      cv_.wait(guard);
  }

  std::string wait_holding() {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds(60),
                      [&] { return holding_ != 0; }))
      return "timeout";
    return "holding " + std::to_string(holding_);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int64_t holding_ = 0;
  bool hold_next_ = false;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: wal_child CHECKPOINT_DIR START_MS\n";
    return 2;
  }
  std::string checkpoints = argv[1];
  auto clk = std::make_shared<testing::manual_clock>(
    caf_stream::time{std::stoll(argv[2])});
  auto prog = std::make_shared<support::batch_results<batch_line>>();
  auto gate = std::make_shared<hold_gate>();
  testing::push_receiver<std::string>* rcv = nullptr;
  try {
    auto ssc = streaming_context::get_or_create(checkpoints, [&] {
      auto opts = testing::default_test_options();
      opts.write_ahead_log = true;
      opts.write_ahead_log_sync = wal_sync::every_block;
      auto ctx = std::make_unique<streaming_context>(std::chrono::seconds(1),
                                                     opts, clk);
      ctx->checkpoint(checkpoints);
      auto owned = std::make_unique<testing::push_receiver<std::string>>();
      rcv = owned.get();
      auto words = ctx->receiver_stream<std::string>(std::move(owned));
      words.foreach_rdd(
        [prog, gate](const rdd<std::string>& x, caf_stream::time t) {
          gate->pass(t.milliseconds());
          auto xs = x.collect();
          std::sort(xs.begin(), xs.end());
          prog->update(t.milliseconds(),
                       [&](batch_line& r) { r.words = std::move(xs); });
        });
      words
        .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
        .update_state_by_key(support::running_total)
        .checkpoint(std::chrono::seconds(1))
        .foreach_rdd([prog](const rdd<std::pair<std::string, int64_t>>& x,
                            caf_stream::time t) {
          std::map<std::string, int64_t> xs;
          for (auto& [w, n] : x.collect())
            xs[w] = n;
          prog->update(t.milliseconds(),
                       [&](batch_line& r) { r.totals = std::move(xs); });
        });
      return ctx;
    });
    ssc->add_streaming_listener(prog);
    auto other = [&](const std::string& cmd) {
      std::istringstream in{cmd};
      std::string verb;
      in >> verb;
      if (verb == "store") {
        std::vector<std::string> xs;
        for (std::string w; in >> w;)
          xs.push_back(w);
        rcv->push(std::move(xs));
        std::cout << "stored" << std::endl;
      } else if (verb == "await") {
        auto now = clk->now().milliseconds();
        std::cout << render(now, prog->wait_for(now)) << std::endl;
      } else if (verb == "hold") {
        gate->hold_next();
        std::cout << "ok" << std::endl;
      } else if (verb == "cut") {
        clk->advance(std::chrono::seconds(1));
        std::cout << gate->wait_holding() << std::endl;
      } else {
        std::cout << "unknown command " << cmd << std::endl;
      }
    };
    return support::run_commands(
      *ssc, *clk,
      [&](int64_t now) { return render(now, prog->wait_for(now)); }, other);
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
}
