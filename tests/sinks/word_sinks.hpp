#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/recovering_run.hpp"

// What the tests of both database sinks share: word counts to write, and
// the exactly-once runs each sink must pass.
namespace word_sinks {

using kv = std::pair<std::string, int64_t>;
using strings = std::vector<std::string>;

/// The input, batch by batch.
inline const std::vector<std::vector<kv>> words{
  {{"a", 1}, {"b", 2}}, {}, {{"a", 3}}, {{"c", 4}, {"a", 5}}};

inline std::tuple<std::string, int64_t> word_row(const kv& x) {
  return {x.first, x.second};
}

/// A table of words and counts, made if missing.
inline caf_stream::sinks::table_options word_table() {
  caf_stream::sinks::table_options opts;
  opts.columns = {"word", "n"};
  opts.create_if_missing = true;
  return opts;
}

/// Runs `words` for `n` batches (from time 0) into the sink that `attach`
/// adds, in a run that recovers from no checkpoint; returns each batch's
/// failure, if any.
template <class Attach>
std::vector<std::optional<std::string>>
run_words(size_t n, Attach attach,
          caf_stream::stream_options opts
          = caf_stream::testing::default_test_options()) {
  caf_stream::test::pipeline<kv> p{opts};
  caf_stream::testing::temporary_directory checkpoints;
  p.context().checkpoint(checkpoints.path());
  attach(caf_stream::testing::detail::add_test_input(p.context(), words, 2));
  p.run(n);
  std::vector<std::optional<std::string>> result;
  for (auto& info : p.infos())
    result.push_back(info.failure_reason);
  return result;
}

/// The sink that `attach` adds, named `sink` in messages ("save_to_sqlite(
/// ...)"), writes table "words" with its progress row "words" into the
/// database that `query(sql)` reads (rows as "a|b"). It writes each batch
/// once, with its batch time, across a recovery that runs batches again;
/// and a run that did not recover fails the batches it finds recorded
/// there, which another application must have written.
template <class Attach, class Query>
void check_each_batch_written_once(const std::string& sink, Attach attach,
                                   Query query) {
  auto rows = [&] { return query("select word, n from words order by 1, 2"); };
  auto progress = [&] {
    return query("select sink, batch_time from caf_stream_progress");
  };
  caf_stream::testing::temporary_directory checkpoints;
  auto build = [&](caf_stream::streaming_context& ssc) {
    attach(caf_stream::testing::detail::add_test_input(ssc, words, 2));
  };
  // Batches 2 and 3 run again after the recovery, written before.
  auto [first, second] = support::die_and_recover(
    checkpoints.path(), build, [&] {
      CHECK(rows() == strings{"a|1", "a|3", "b|2"});
      CHECK(progress() == strings{"words|3000"});
    });
  CHECK_FALSE(first.recovered);
  CHECK(first.failures.empty());
  CHECK(second.recovered);
  CHECK(second.batches == std::vector<int64_t>{2000, 3000, 4000});
  CHECK(second.failures.empty());
  const strings all{"a|1", "a|3", "a|5", "b|2", "c|4"};
  CHECK(rows() == all);
  CHECK(progress() == strings{"words|4000"});
  // Another program (no recovery) that writes under the same sink name.
  auto failures = run_words(4, attach);
  REQUIRE(failures.size() == 4);
  for (size_t k = 0; k < 4; ++k) {
    INFO("batch " << k + 1);
    REQUIRE(failures[k]);
    CHECK_THAT(*failures[k],
               Catch::Matchers::Contains(
                 sink + ": batch " + std::to_string((k + 1) * 1000)
                 + " ms is in that database's caf_stream_progress as "
                   "written under 'words', but this run did not write it "
                   "and did not recover from a checkpoint: another "
                   "application records its batches there under that name")
                 && Catch::Matchers::Contains("give each a sink_name of its "
                                              "own (table_options)"));
  }
  CHECK(rows() == all);
  CHECK(progress() == strings{"words|4000"});
}

} // namespace word_sinks
