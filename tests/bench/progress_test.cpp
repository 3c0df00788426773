#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "progress.hpp"

TEST_CASE("the harness's progress estimates the time left from the steps "
          "done",
          "[bench]") {
  bench::progress pr{4, false, nullptr};
  CHECK(pr.line("word_count, engine only", 0) == "[1/4] word_count, engine only");
  char buf[512] = {};
  auto* out = ::fmemopen(buf, sizeof(buf), "w");
  bench::progress logged{4, false, out};
  logged.begin("a", 0);
  // One step took 30 s: three more take about 90 s.
  CHECK(logged.line("b", 30) == "[2/4] b, about 2 min left");
  logged.begin("b", 30);
  logged.begin("c", 40);
  CHECK(logged.line("d", 45) == "[4/4] d, about 15 s left");
  std::fclose(out);
  CHECK(std::string{buf} == "[1/4] a\n[2/4] b, about 2 min left\n"
                            "[3/4] c, about 40 s left\n");
  CHECK(bench::progress::duration_text(44.6) == "45 s");
  CHECK(bench::progress::duration_text(3 * 3600 + 5 * 60) == "3 h 5 min");
}

TEST_CASE("on a terminal the harness's progress is one updating line",
          "[bench]") {
  char buf[512] = {};
  auto* out = ::fmemopen(buf, sizeof(buf), "w");
  bench::progress pr{2, true, out};
  pr.begin("first", 0);
  pr.begin("second", 10);
  pr.finish();
  std::fclose(out);
  std::string text{buf};
  CHECK(text.find('\n') == text.size() - 1);
  CHECK(text.rfind("\r[2/2] second, about 10 s left", text.size()) != std::string::npos);
}
