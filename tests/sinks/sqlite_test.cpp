#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/tables.hpp"
#include "support/words.hpp"

#include "sinks/word_sinks.hpp"

using namespace caf_stream;
using namespace word_sinks;

namespace {

// The rows of `sql` in the database file `path`, one string per row with
// the columns separated by '|' (NULL as "null"), read with SQLite's own API.
strings query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr)
          == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  auto rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  INFO(sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  strings result;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i > 0)
        line += '|';
      auto text = sqlite3_column_text(st, i);
      line += text != nullptr ? reinterpret_cast<const char*>(text) : "null";
    }
    result.push_back(std::move(line));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result;
}

void execute(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  CHECK(rc == SQLITE_OK);
  sqlite3_close(db);
}

std::string db_file(const testing::temporary_directory& dir) {
  return dir.path() + "/sink.db";
}

} // namespace

TEST_CASE("save_to_sqlite writes each batch once across a recovery, and "
          "refuses the batches another application recorded under its name",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  word_sinks::check_each_batch_written_once(
    "save_to_sqlite('" + path + "', table 'words')",
    [&](const dstream<kv>& in) {
      sinks::save_to_sqlite(in, path, "words", word_row, word_table());
    },
    [&](const std::string& sql) { return query(path, sql); });
}

TEST_CASE("save_to_sqlite creates tables typed after the row's C++ types",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  run_words(1, [&](const dstream<kv>& in) {
    sinks::table_options opts;
    opts.columns = {"word", "n", "half", "note", "raw"};
    opts.create_if_missing = true;
    sinks::save_to_sqlite(
      in, path, "typed",
      [](const kv& x) {
        return std::make_tuple(x.first, x.second, x.second / 2.0,
                               std::optional<std::string>{},
                               sinks::blob{'x', 'y'});
      },
      opts);
  });
  CHECK(query(path, "select name, type, \"notnull\" from pragma_table_info("
                    "'typed') order by cid")
        == strings{"word|TEXT|1", "n|INTEGER|1", "half|REAL|1", "note|TEXT|0",
                   "raw|BLOB|1"});
  CHECK(query(path, "select word, n, half, note, raw from typed order by word")
        == strings{"a|1|0.5|null|xy", "b|2|1.0|null|xy"});
}

TEST_CASE("save_to_sqlite upserts running totals by key", "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  auto attach = [&](const dstream<kv>& in) {
    auto totals = in.update_state_by_key(support::running_total);
    auto opts = word_table();
    opts.upsert_key = {"word"};
    sinks::save_to_sqlite(totals, path, "totals", word_row, opts);
  };
  run_words(4, attach);
  CHECK(query(path, "select word, n from totals order by word")
        == strings{"a|9", "b|2", "c|4"});
}

TEST_CASE("save_to_sqlite inserts by position into an existing table",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  execute(path, "create table plain (w text, n integer)");
  run_words(1, [&](const dstream<kv>& in) {
    sinks::save_to_sqlite(in, path, "plain", word_row);
  });
  CHECK(query(path, "select w, n from plain order by w")
        == strings{"a|1", "b|2"});
}

TEST_CASE("save_to_sqlite refuses options that do not fit the rows",
          "[sinks][sqlite]") {
  streaming_context ssc{std::chrono::seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto in = testing::detail::add_test_input(ssc, words, 1);
  auto refused = [&](sinks::table_options opts, const std::string& what) {
    CHECK_THROWS_WITH(
      sinks::save_to_sqlite(in, "/tmp/x.db", "t", word_row, opts),
      Catch::Matchers::Contains(what));
  };
  sinks::table_options no_columns;
  no_columns.create_if_missing = true;
  refused(no_columns, "create_if_missing needs the column names");
  sinks::table_options three;
  three.columns = {"a", "b", "c"};
  refused(three, "3 column names for rows of 2 values");
  auto bad_key = word_table();
  bad_key.upsert_key = {"count"};
  refused(bad_key, "upsert key 'count' is not a column");
  auto twice = word_table();
  twice.columns = {"w", "w"};
  refused(twice, "column 'w' appears twice");
}

TEST_CASE("save_to_sqlite refuses a second sink of the graph that records "
          "its batches under the same name in the same database",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  streaming_context ssc{std::chrono::seconds(1), stream_options{},
                        std::make_shared<testing::manual_clock>()};
  auto in = testing::detail::add_test_input(ssc, words, 1);
  auto big = in.filter([](const kv& x) { return x.second > 2; });
  sinks::save_to_sqlite(in, path, "words", word_row, word_table());
  auto same_name = [&](const std::string& as) {
    return "save_to_sqlite('" + as + "', table 'words'): save_to_sqlite('"
           + path
           + "', table 'words') of this graph records its batches in that "
             "database's caf_stream_progress as 'words' too, so each would "
             "skip the batches the other wrote: give one of them a "
             "sink_name of its own (table_options)";
  };
  CHECK_THROWS_WITH(
    sinks::save_to_sqlite(big, path, "words", word_row, word_table()),
    same_name(path));
  // The same file by another path.
  auto other_path = dir.path() + "/./sink.db";
  CHECK_THROWS_WITH(
    sinks::save_to_sqlite(big, other_path, "words", word_row, word_table()),
    same_name(other_path));
  // Another table whose sink takes the name.
  auto named_words = word_table();
  named_words.sink_name = "words";
  CHECK_THROWS_AS(
    sinks::save_to_sqlite(big, path, "big", word_row, named_words),
    stream_error);
  // Names of their own, or another database file, are fine.
  auto named = word_table();
  named.sink_name = "big words";
  CHECK_NOTHROW(sinks::save_to_sqlite(big, path, "words", word_row, named));
  CHECK_NOTHROW(sinks::save_to_sqlite(big, dir.path() + "/other.db", "words",
                                      word_row, word_table()));
}

TEST_CASE("two sinks with names of their own write into one table, each "
          "batch of each once",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  auto attach = [&](const dstream<kv>& in) {
    sinks::save_to_sqlite(in, path, "words", word_row, word_table());
    auto named = word_table();
    named.sink_name = "big words";
    sinks::save_to_sqlite(in.filter([](const kv& x) { return x.second > 2; }),
                          path, "words", word_row, named);
  };
  run_words(3, attach);
  CHECK(query(path, "select word, n from words order by word, n")
        == strings{"a|1", "a|3", "a|3", "b|2"});
  CHECK(query(path, "select sink, batch_time from caf_stream_progress "
                    "order by sink")
        == strings{"big words|3000", "words|3000"});
}

TEST_CASE("a database that refuses a batch fails it with its message after "
          "the retries, later batches are written",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto path = db_file(dir);
  // No table and no create_if_missing: every write fails, until the table
  // exists.
  auto opts = testing::default_test_options();
  opts.sink_max_retries = 1;
  test::pipeline<kv> p{opts};
  testing::temporary_directory checkpoints;
  p.context().checkpoint(checkpoints.path());
  auto in = testing::detail::add_test_input(p.context(), words, 2);
  sinks::save_to_sqlite(in, path, "later", word_row);
  p.context().start();
  p.next_batch();
  execute(path, "create table later (w text, n integer)");
  p.next_batch();
  p.next_batch();
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 3);
  REQUIRE(infos[0].failure_reason);
  CHECK_THAT(*infos[0].failure_reason,
             Catch::Matchers::Contains("save_to_sqlite('" + path
                                       + "', table 'later'): cannot write "
                                         "batch 1000 ms (2 attempts)")
               && Catch::Matchers::Contains("no such table: later"));
  CHECK_FALSE(infos[1].failure_reason);
  CHECK_FALSE(infos[2].failure_reason);
  CHECK(query(path, "select w, n from later order by w") == strings{"a|3"});
}

TEST_CASE("a database file that cannot be opened fails the batch",
          "[sinks][sqlite]") {
  testing::temporary_directory dir;
  auto opts = testing::default_test_options();
  opts.sink_max_retries = 0;
  auto failures = run_words(
    1,
    [&](const dstream<kv>& in) {
      sinks::save_to_sqlite(in, dir.path() + "/missing/dir/x.db", "t",
                            word_row, word_table());
    },
    opts);
  REQUIRE(failures.size() == 1);
  REQUIRE(failures[0]);
  CHECK_THAT(*failures[0],
             Catch::Matchers::Contains("cannot write batch 1000 ms (1 attempt)")
               && Catch::Matchers::Contains("cannot open the database"));
}
