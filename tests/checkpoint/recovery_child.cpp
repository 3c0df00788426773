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

#include <array>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/batch_results.hpp"
#include "support/child_commands.hpp"
#include "support/words.hpp"

using namespace caf_stream;

namespace {

using counts = std::map<std::string, int64_t>;

// The totals of a batch: from update_state_by_key and from map_with_state.
using totals = std::array<counts, 2>;

// The line after batch `t`.
std::string render(int64_t t, const std::optional<totals>& x) {
  if (!x)
    return "timeout";
  std::string out = "totals " + std::to_string(t);
  for (size_t which = 0; which < 2; ++which) {
    out += which == 0 ? " " : " | ";
    for (auto& [w, n] : (*x)[which])
      out += w + "=" + std::to_string(n) + ",";
  }
  return out;
}

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
  auto prog = std::make_shared<support::batch_results<totals>>();
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
          prog->update(t.milliseconds(),
                       [&](totals& r) { r[which] = std::move(xs); });
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
      return render(now, prog->wait_for(now));
    });
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
