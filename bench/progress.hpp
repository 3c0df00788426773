#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace bench {

/// The harness's progress: what it is on and an estimate of the time left
/// (the mean time of the steps done so far, times the steps left). On a
/// terminal one line that updates in place; otherwise a plain line per
/// step, for logs.
class progress {
public:
  using clock = std::chrono::steady_clock;

  progress(size_t total_steps, bool terminal, FILE* out = stderr)
    : total_(total_steps), terminal_(terminal), out_(out),
      start_(clock::now()) {
    // nop
  }

  /// Says that the harness starts step `what` ("word_count at 100 ms,
  /// probe 3"), `elapsed_s` seconds after it began (measured when omitted).
  void begin(const std::string& what, double elapsed_s = -1) {
    if (elapsed_s < 0)
      elapsed_s = std::chrono::duration<double>(clock::now() - start_).count();
    auto text = line(what, elapsed_s);
    if (terminal_)
      std::fprintf(out_, "\r%-100.100s", text.c_str());
    else
      std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
    ++done_;
  }

  /// Ends the updating line (on a terminal).
  void finish() {
    if (terminal_)
      std::fprintf(out_, "\n");
  }

  /// The text for step `what` begun `elapsed_s` seconds in, with the steps
  /// done before it.
  std::string line(const std::string& what, double elapsed_s) const {
    std::string result = "[" + std::to_string(done_ + 1) + "/"
                         + std::to_string(total_) + "] " + what;
    if (done_ == 0)
      return result;
    auto steps_left = total_ > done_ ? total_ - done_ : 0;
    auto left = elapsed_s / static_cast<double>(done_)
                * static_cast<double>(steps_left);
    return result + ", about " + duration_text(left) + " left";
  }

  /// "45 s", "3 min", "1 h 5 min".
  static std::string duration_text(double seconds) {
    auto s = static_cast<long>(seconds + 0.5);
    if (s < 60)
      return std::to_string(s) + " s";
    auto min = (s + 30) / 60;
    if (min < 60)
      return std::to_string(min) + " min";
    return std::to_string(min / 60) + " h " + std::to_string(min % 60)
           + " min";
  }

private:
  size_t total_;
  size_t done_ = 0;
  bool terminal_;
  FILE* out_;
  clock::time_point start_;
};

} // namespace bench
