// A word count from Kafka into SQLite, driven through stdin under a manual
// clock, for the kill test: the test kills it with SIGKILL at random moments
// and starts it again on the same checkpoint directory.
//
//   caf_stream_kafka_kill_child BOOTSTRAPS CHECKPOINT_DIR DB START_MS [PG]
//
// Reads partitions 0 and 1 of the topic "words"; keeps running totals with
// update_state_by_key and upserts them into the table "totals" of the
// SQLite file DB and, given libpq's connection string PG, of PostgreSQL;
// appends each batch's counts to the table "per_batch" of DB.
// Prints "started" or "recovered", then per command on stdin:
//   tick  cut the next batch, wait for it, print "done <ms>"
//   stop  stop gracefully, print "stopped"

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/child_commands.hpp"
#include "support/words.hpp"

using namespace caf_stream;

namespace {

class progress final : public streaming_listener {
public:
  void on_batch_completed(const batch_info& info) override {
    std::lock_guard<std::mutex> guard{mtx_};
    last_ = info.batch_time.milliseconds();
    if (info.failure_reason)
      failure_ = *info.failure_reason;
    cv_.notify_all();
  }

  std::string wait_for(int64_t t) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds(60),
                      [&] { return last_ >= t; }))
      return "timeout";
    if (!failure_.empty())
      return "failed " + failure_;
    return "done " + std::to_string(t);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int64_t last_ = 0;
  std::string failure_;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::cerr << "usage: caf_stream_kafka_kill_child BOOTSTRAPS "
                 "CHECKPOINT_DIR DB START_MS [PG]\n";
    return 2;
  }
  std::string bootstraps = argv[1];
  std::string checkpoints = argv[2];
  std::string db = argv[3];
  std::string pg = argc == 6 ? argv[5] : "";
  auto clk = std::make_shared<testing::manual_clock>(
    caf_stream::time{std::stoll(argv[4])});
  try {
    auto ssc = streaming_context::get_or_create(checkpoints, [&] {
      auto ctx = std::make_unique<streaming_context>(
        std::chrono::seconds(1), testing::default_test_options(), clk);
      ctx->checkpoint(checkpoints);
      using record = kafka::consumer_record<std::string, std::string>;
      auto words = kafka::create_direct_stream(
        *ctx, kafka::prefer_consistent(),
        kafka::assign<std::string, std::string>(
          {{"words", 0}, {"words", 1}},
          {{"bootstrap.servers", bootstraps},
           {"auto.offset.reset", "earliest"}}));
      auto counts
        = words
            .flat_map([](const record& r) {
              return support::split_words(r.value);
            })
            .map([](const std::string& w) {
              return std::make_pair(w, int64_t{1});
            })
            .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
      auto totals = counts.update_state_by_key(support::running_total);
      totals.checkpoint(std::chrono::seconds(3));
      sinks::table_options table;
      table.columns = {"word", "n"};
      table.create_if_missing = true;
      table.upsert_key = {"word"};
      auto row = [](const std::pair<std::string, int64_t>& x) {
        return std::make_tuple(x.first, x.second);
      };
      sinks::save_to_sqlite(totals, db, "totals", row, table);
      // Each batch's own counts, appended: a batch written twice, or one
      // that reads other records when it runs again, shows here.
      sinks::table_options appended;
      appended.columns = {"word", "n"};
      appended.create_if_missing = true;
      sinks::save_to_sqlite(counts, db, "per_batch", row, appended);
      if (!pg.empty())
        sinks::save_to_postgresql(totals, pg, "totals", row, table);
      return ctx;
    });
    auto prog = std::make_shared<progress>();
    ssc->add_streaming_listener(prog);
    return support::run_commands(*ssc, *clk, [&](int64_t now) {
      return prog->wait_for(now);
    });
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
