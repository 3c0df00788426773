#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/postgresql_server.hpp"

#include "sinks/word_sinks.hpp"

using namespace caf_stream;
using namespace word_sinks;

namespace {

// The rows of `sql`, one string per row with the columns separated by '|'
// (NULL as "null"), read with libpqxx directly.
strings query(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn{conninfo};
  pqxx::read_transaction tx{conn};
  strings result;
  for (const auto& r : tx.exec(sql)) {
    std::string line;
    for (const auto& f : r) {
      if (!line.empty() || f.num() > 0)
        line += '|';
      line += f.is_null() ? "null" : f.c_str();
    }
    result.push_back(std::move(line));
  }
  return result;
}

} // namespace

TEST_CASE("save_to_postgresql writes each batch once across a recovery, "
          "and refuses the batches another application recorded under its "
          "name",
          "[sinks][postgresql]") {
  support::postgresql_server server;
  auto db = server.conninfo();
  word_sinks::check_each_batch_written_once(
    "save_to_postgresql('" + db + "', table 'words')",
    [&](const dstream<kv>& in) {
      sinks::save_to_postgresql(in, db, "words", word_row, word_table());
    },
    [&](const std::string& sql) { return query(db, sql); });
}

TEST_CASE("save_to_postgresql refuses a second sink of the graph that "
          "records its batches under the same name in the same database",
          "[sinks][postgresql]") {
  // Sinks connect at their first batch: no server is needed to add them.
  auto db = std::string{"host=127.0.0.1 port=1 dbname=words"};
  streaming_context ssc{std::chrono::seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto in = testing::detail::add_test_input(ssc, words, 1);
  sinks::save_to_postgresql(in, db, "words", word_row, word_table());
  CHECK_THROWS_WITH(
    sinks::save_to_postgresql(in, db, "words", word_row, word_table()),
    Catch::Contains("save_to_postgresql('" + db + "', table 'words') of "
                    "this graph records its batches in that database's "
                    "caf_stream_progress as 'words' too"));
  auto named = word_table();
  named.sink_name = "more words";
  CHECK_NOTHROW(
    sinks::save_to_postgresql(in, db, "words", word_row, named));
  CHECK_NOTHROW(sinks::save_to_postgresql(in, db + "2", "words", word_row,
                                          word_table()));
}

TEST_CASE("save_to_postgresql creates typed tables and upserts by key",
          "[sinks][postgresql]") {
  support::postgresql_server server;
  auto db = server.conninfo();
  auto failures = run_words(4, [&](const dstream<kv>& in) {
    sinks::table_options typed;
    typed.columns = {"word", "n", "half", "note", "raw"};
    typed.create_if_missing = true;
    typed.sink_name = "typed copy";
    sinks::save_to_postgresql(
      in, db, "typed",
      [](const kv& x) {
        return std::make_tuple(x.first, x.second, x.second / 2.0,
                               x.first == "a" ? std::optional<std::string>{}
                                              : std::optional<std::string>{
                                                "tab\there"},
                               sinks::blob{0x00, 0xff});
      },
      typed);
    auto totals = in.reduce_by_key([](int64_t a, int64_t b) { return a + b; });
    auto upsert = word_table();
    upsert.upsert_key = {"word"};
    sinks::save_to_postgresql(totals, db, "latest", word_row, upsert);
  });
  CHECK(failures == decltype(failures)(4));
  CHECK(query(db, "select column_name, data_type, is_nullable from "
                  "information_schema.columns where table_name = 'typed' "
                  "order by ordinal_position")
        == strings{"word|text|NO", "n|bigint|NO", "half|double precision|NO",
                   "note|text|YES", "raw|bytea|NO"});
  CHECK(query(db, "select word, n, half, note, encode(raw, 'hex') from typed "
                  "order by word, n")
        == strings{"a|1|0.5|null|00ff", "a|3|1.5|null|00ff",
                   "a|5|2.5|null|00ff", "b|2|1|tab\there|00ff",
                   "c|4|2|tab\there|00ff"});
  // The latest batch's sum per key replaces the earlier ones.
  CHECK(query(db, "select word, n from latest order by word")
        == strings{"a|5", "b|2", "c|4"});
  CHECK(query(db, "select sink, batch_time from caf_stream_progress order by "
                  "sink")
        == strings{"latest|4000", "typed copy|4000"});
}

TEST_CASE("a PostgreSQL server that is down fails the batch after the "
          "retries, the next batch after its return is written",
          "[sinks][postgresql]") {
  support::postgresql_server server;
  auto db = server.conninfo();
  auto opts = testing::default_test_options();
  opts.sink_max_retries = 2;
  test::pipeline<kv> p{opts};
  testing::temporary_directory checkpoints;
  p.context().checkpoint(checkpoints.path());
  auto in = testing::detail::add_test_input(p.context(), words, 2);
  sinks::save_to_postgresql(in, db, "words", word_row, word_table());
  p.context().start();
  p.next_batch();
  server.stop();
  p.next_batch();
  server.start();
  p.next_batch();
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 3);
  CHECK_FALSE(infos[0].failure_reason);
  REQUIRE(infos[1].failure_reason);
  CHECK_THAT(*infos[1].failure_reason,
             Catch::Matchers::Contains("save_to_postgresql('" + db
                                       + "', table 'words'): cannot write "
                                         "batch 2000 ms (3 attempts)"));
  CHECK_FALSE(infos[2].failure_reason);
  CHECK(query(db, "select word, n from words order by word, n")
        == strings{"a|1", "a|3", "b|2"});
}
