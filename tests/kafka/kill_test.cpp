#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/pqxx>
#include <sqlite3.h>

#include "caf_stream/testing.hpp"

#include "support/child_process.hpp"
#include "support/files.hpp"
#include "support/kafka_cluster.hpp"
#include "support/postgresql_server.hpp"

using namespace caf_stream;

namespace {

// The totals of `sql` (word, n) in `db` as "word=n" lines, read with
// SQLite's own API.
std::vector<std::string> totals(const std::string& db,
                                const char* sql = "select word, n from totals "
                                                  "order by word") {
  sqlite3* conn = nullptr;
  std::vector<std::string> result;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr)
      != SQLITE_OK) {
    sqlite3_close(conn);
    return result;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(conn, sql, -1, &st, nullptr)
      == SQLITE_OK)
    while (sqlite3_step(st) == SQLITE_ROW)
      result.push_back(
        std::string{reinterpret_cast<const char*>(sqlite3_column_text(st, 0))}
        + "=" + std::to_string(sqlite3_column_int64(st, 1)));
  sqlite3_finalize(st);
  sqlite3_close(conn);
  return result;
}

// The same from PostgreSQL, read with libpqxx.
std::vector<std::string> totals_pg(const std::string& conninfo) {
  pqxx::connection conn{conninfo};
  pqxx::read_transaction tx{conn};
  std::vector<std::string> result;
  for (const auto& r : tx.exec("select word, n from totals order by word"))
    result.push_back(r[0].as<std::string>() + "=" + r[1].as<std::string>());
  return result;
}

std::unique_ptr<support::child_process>
start_child(const support::kafka_cluster& kc, const std::string& checkpoints,
            const std::string& db, const std::string& pg, int64_t start_ms) {
  return std::make_unique<support::child_process>(std::vector<std::string>{
    CAF_STREAM_KAFKA_KILL_CHILD, kc.bootstraps(), checkpoints, db,
    std::to_string(start_ms), pg});
}

size_t env_or(const char* name, size_t fallback) {
  if (auto* x = std::getenv(name))
    return static_cast<size_t>(std::stoul(x));
  return fallback;
}

} // namespace

// Kafka -> update_state_by_key -> SQLite and PostgreSQL, SIGKILLed at random moments (while
// a batch runs or between batches) and restarted with get_or_create: the
// tables end equal to the word counts of everything produced, 0 lost and 0
// counted twice. CAF_STREAM_KILLS (default 3) and CAF_STREAM_KILL_BATCHES
// (default 24) run a longer campaign.
TEST_CASE("a Kafka to SQLite and PostgreSQL word count killed at random "
          "moments ends with exact totals",
          "[kafka][sinks][recovery]") {
  auto kills = env_or("CAF_STREAM_KILLS", 3);
  auto batches = env_or("CAF_STREAM_KILL_BATCHES", 24);
  support::kafka_cluster kc;
  kc.create_topic("words", 2);
  testing::temporary_directory dir;
  auto checkpoints = dir.path() + "/checkpoints";
  auto db = dir.path() + "/totals.db";
  support::postgresql_server server;
  auto pg = server.conninfo();
  std::mt19937 gen{42};
  // The batches after which a kill comes, and whether it comes while the
  // next batch runs (after "tick") or between batches.
  std::map<size_t, bool> kill_after;
  while (kill_after.size() < kills)
    kill_after.emplace(std::uniform_int_distribution<size_t>{2, batches - 2}(gen),
                       std::uniform_int_distribution<int>{0, 1}(gen) == 1);
  const char* vocabulary[] = {"a", "b", "c", "d", "e", "f", "g"};
  std::map<std::string, int64_t> expected;
  auto base = support::wall_clock_second();
  int64_t now = base;
  auto child = start_child(kc, checkpoints, db, pg, now);
  REQUIRE(child->read_line() == "started");
  size_t restarts = 0;
  for (size_t k = 1; k <= batches; ++k) {
    // Batch k's records: a few lines of words on both partitions.
    for (int32_t p = 0; p < 2; ++p) {
      std::string line;
      for (size_t i = 0; i < (k + p) % 4 + 1; ++i) {
        std::string w = vocabulary[(k * 3 + i * 5 + p) % 7];
        line += w + " ";
        ++expected[w];
      }
      kc.produce("words", p, "k", line);
    }
    child->write_line("tick");
    now += 1000;
    auto kill = kill_after.find(k);
    if (kill != kill_after.end() && kill->second) {
      // Right after the tick: the batch is cut, running or writing, as the
      // child's threads happen to be scheduled.
      child->kill();
    } else {
      REQUIRE(child->read_line() == "done " + std::to_string(now));
      if (kill != kill_after.end())
        child->kill();
    }
    if (kill != kill_after.end()) {
      ++restarts;
      // Batches up to `now` run again at start, with the same ranges where
      // the checkpoint has them.
      child = start_child(kc, checkpoints, db, pg, now);
      auto first = child->read_line();
      INFO("restart " << restarts << " after batch " << k);
      REQUIRE((first == "recovered" || first == "started"));
    }
  }
  child->write_line("stop");
  REQUIRE(child->read_line() == "stopped");
  CHECK(child->wait() == 0);
  std::vector<std::string> want;
  for (auto& [w, n] : expected)
    want.push_back(w + "=" + std::to_string(n));
  CHECK(restarts == kills);
  CHECK(totals(db) == want);
  // The appended per-batch counts add up to the same: no batch twice, none
  // with other records when it ran again.
  CHECK(totals(db, "select word, sum(n) from per_batch group by word order "
                   "by word")
        == want);
  CHECK(totals_pg(pg) == want);
}
