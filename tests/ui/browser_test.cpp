#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "caf_stream/testing.hpp"

#include "support/child_process.hpp"
#include "support/ui_pipeline.hpp"

using namespace caf_stream;

namespace {

const char* const chromium = "/usr/bin/chromium";

// Runs Chromium with `args` and returns what it wrote to stdout; its
// stderr (D-Bus complaints of a machine without a session bus) goes to
// `err_file`.
std::string run(const std::vector<std::string>& args,
                const std::string& err_file) {
  std::string command = "exec";
  for (const auto& a : args)
    command += " '" + a + "'";
  support::child_process browser{
    {"/bin/sh", "-c", command + " 2>'" + err_file + "'"}};
  auto out = browser.read_to_end();
  browser.wait();
  return out;
}

std::vector<std::string> chromium_args(const std::string& profile) {
  // As root, Chromium only runs without its sandbox.
  return {chromium,           "--headless",
          "--no-sandbox",     "--disable-gpu",
          "--disable-dev-shm-usage", "--no-first-run",
          "--user-data-dir=" + profile,
          "--window-size=1280,2200",
          // Virtual time runs the page's polling timer ahead; it stops for
          // the fetches in flight.
          "--virtual-time-budget=5000"};
}

} // namespace

TEST_CASE("the streaming UI shows the completed batches in headless "
          "Chromium",
          "[ui][browser]") {
  INFO("the browser test needs " << chromium
                                 << ": run cmake/install-deps.sh");
  REQUIRE(::access(chromium, X_OK) == 0);
  support::ui_pipeline p{{1, 2, 3, 4, 5, 6}};
  p.run();
  testing::temporary_directory dir;
  auto args = chromium_args(dir.path() + "/profile");
  args.push_back("--dump-dom");
  args.push_back(p.url());
  auto dom = run(args, dir.path() + "/dump.log");
  INFO(dom.substr(0, 2000));
  // The page marks what it rendered; at least 5 batches on the timeline.
  std::smatch m;
  REQUIRE(std::regex_search(dom, m,
                            std::regex{R"re(data-completed-batches="(\d+)")re"}));
  CHECK(std::stoi(m[1]) == 6);
  // Each completed batch's row against the listener's figures, newest
  // first.
  std::vector<std::pair<int64_t, int64_t>> rows;
  std::regex row{
    R"re(class="completed-batch" data-batch-id="(\d+)" data-input-size="(\d+)")re"};
  for (auto i = std::sregex_iterator(dom.begin(), dom.end(), row);
       i != std::sregex_iterator(); ++i)
    rows.emplace_back(std::stoll((*i)[1]), std::stoll((*i)[2]));
  std::vector<std::pair<int64_t, int64_t>> expected;
  auto batches = p.batches();
  for (auto i = batches.rbegin(); i != batches.rend(); ++i)
    expected.emplace_back(i->batch_time.milliseconds(), i->num_records);
  CHECK(rows == expected);
  CHECK(expected.front().second == 6);
  // The executors' table: the driver, with the tasks the batches report.
  int64_t driver_tasks = 0;
  for (const auto& b : batches)
    driver_tasks += b.tasks.at("driver").completed;
  CHECK(dom.find(R"(class="executor" data-executor-id="driver" )"
                 R"(data-completed-tasks=")"
                 + std::to_string(driver_tasks) + "\"")
        != std::string::npos);
  // The page lists what its scripts raised and what they logged as
  // console errors.
  CHECK(dom.find(R"(<ul id="page-errors"></ul>)") != std::string::npos);
  // The picture the README shows.
  auto shot = dir.path() + "/ui.png";
  args = chromium_args(dir.path() + "/profile-screenshot");
  args.push_back("--screenshot=" + shot);
  args.push_back(p.url());
  run(args, dir.path() + "/screenshot.log");
  std::ifstream png{shot, std::ios::binary};
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  CHECK(magic == "\x89PNG\r\n\x1a\n");
  if (auto* keep = std::getenv("CAF_STREAM_UI_SCREENSHOT"))
    std::filesystem::copy_file(shot, keep,
                               std::filesystem::copy_options::overwrite_existing);
  p.context().stop();
}
