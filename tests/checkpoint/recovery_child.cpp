// A stateful word count over a directory, driven through stdin under a
// manual clock, for the kill-and-recover test: the test kills it with
// SIGKILL and starts it again on the same checkpoint directory.
//
//   recovery_child INPUT_DIR CHECKPOINT_DIR START_MS
//
// Commands on stdin, one per line:
//   tick  cut the next batch, wait for it, print "totals <ms> <counts>"
//   stop  stop gracefully, print "stopped"
// <counts> is "word=n,..." sorted by word, once from update_state_by_key and
// once from map_with_state's snapshots, separated by " | ".

#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/child_commands.hpp"
#include "support/words.hpp"

using namespace caf_stream;

namespace {

using counts = std::map<std::string, int64_t>;

// The totals of each completed batch, and the last completed batch.
class progress final : public streaming_listener {
public:
  void set(int which, int64_t t, counts xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    totals_[t][which] = std::move(xs);
  }

  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    last_ = info.batch_time.milliseconds();
    cv_.notify_all();
  }

  // Waits until batch `t` completed (the clock moved there), for a bounded
  // time in case the runtime is stuck.
  std::string wait_and_render(int64_t t) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds(60),
                      [&] { return last_ >= t; }))
      return "timeout";
    std::string out = "totals " + std::to_string(t);
    for (int which = 0; which < 2; ++which) {
      out += which == 0 ? " " : " | ";
      for (auto& [w, n] : totals_[t][which])
        out += w + "=" + std::to_string(n) + ",";
    }
    return out;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<int64_t, counts[2]> totals_;
  int64_t last_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: recovery_child INPUT_DIR CHECKPOINT_DIR START_MS\n";
    return 2;
  }
  std::string input = argv[1];
  std::string checkpoints = argv[2];
  auto clk = std::make_shared<testing::manual_clock>(
    caf_stream::time{std::stoll(argv[3])});
  auto prog = std::make_shared<progress>();
  try {
    auto ssc = streaming_context::get_or_create(checkpoints, [&] {
      auto ctx = std::make_unique<streaming_context>(
        std::chrono::seconds(1), testing::default_test_options(), clk);
      ctx->checkpoint(checkpoints);
      auto pairs = ctx->text_file_stream(input)
                     .flat_map(support::split_words)
                     .map([](const std::string& w) {
                       return std::make_pair(w, int64_t{1});
                     });
      auto collect = [prog](int which) {
        return [prog, which](const rdd<std::pair<std::string, int64_t>>& x,
                             caf_stream::time t) {
          counts xs;
          for (auto& [w, n] : x.collect())
            xs[w] = n;
          prog->set(which, t.milliseconds(), std::move(xs));
        };
      };
      pairs
        .update_state_by_key(support::running_total)
        .checkpoint(std::chrono::seconds(3))
        .foreach_rdd(collect(0));
      auto running = [](const std::string&, std::optional<int64_t> x,
                        state<int64_t>& st) {
        st.update(st.get_option().value_or(0) + x.value_or(0));
        return st.get();
      };
      pairs.map_with_state(state_spec::function(running))
        .state_snapshots()
        .foreach_rdd(collect(1));
      return ctx;
    });
    ssc->add_streaming_listener(prog);
    return support::run_commands(*ssc, *clk, [&](int64_t now) {
      return prog->wait_and_render(now);
    });
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
