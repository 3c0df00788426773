#include "caf_stream/sinks/database.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::sinks::detail {

table_writer::~table_writer() {
  // nop
}

namespace {

// Database messages span lines ("...refused\n\tIs the server running...").
std::string one_line(const std::string& x) {
  std::string result;
  for (auto c : x) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!result.empty() && result.back() != ' ')
        result += ' ';
    } else {
      result += c;
    }
  }
  while (!result.empty() && result.back() == ' ')
    result.pop_back();
  return result;
}

} // namespace

bool write_with_retries(table_writer& writer, time t,
                        const std::vector<row>& rows,
                        const std::vector<kafka::offset_range>& offsets,
                        size_t max_retries, bool restored) {
  auto log = caf_stream::detail::logger("sink");
  for (size_t attempt = 0;; ++attempt) {
    bool written = false;
    try {
      written = writer.write_batch(t.milliseconds(), rows, offsets);
    } catch (const std::exception& e) {
      writer.reset();
      if (attempt >= max_retries)
        throw stream_error(errc::sink_failure,
                           writer.describe() + ": cannot write batch "
                             + to_string(t) + " (" + std::to_string(attempt + 1)
                             + (attempt == 0 ? " attempt" : " attempts")
                             + "): " + one_line(e.what()));
      log->warn("{}: writing batch {} failed, retrying ({} of {}): {}",
                writer.describe(), to_string(t), attempt + 1, max_retries,
                one_line(e.what()));
      // A database that restarts or a lock that clears needs a moment.
      auto pause = std::min<int64_t>(50 << std::min<size_t>(attempt, 5), 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
      continue;
    }
    // Only an attempt whose commit the connection's loss hid, or a run
    // before a recovery, can have written this batch.
    if (!written && attempt == 0 && !restored)
      throw stream_error(errc::sink_failure,
                         writer.describe() + ": batch " + to_string(t)
                           + " is in that database's caf_stream_progress as "
                             "written under '"
                           + writer.progress_row().second
                           + "', but this run did not write it and did not "
                             "recover from a checkpoint: another "
                             "application records its batches there under "
                             "that name, and each would skip the batches "
                             "the other wrote; give each a sink_name of its "
                             "own (table_options)");
    if (!written)
      log->info("{}: batch {} was written before; skipped", writer.describe(),
                to_string(t));
    return written;
  }
}

void claim_progress_row(caf_stream::detail::dstream_graph& graph,
                        const table_writer& writer) {
  auto [database, name] = writer.progress_row();
  if (database.empty())
    return;
  auto other = graph.claim_progress_row(database + '\n' + name,
                                        writer.describe());
  if (other)
    throw stream_error(errc::invalid_graph,
                       writer.describe() + ": " + *other
                         + " of this graph records its batches in that "
                           "database's caf_stream_progress as '"
                         + name
                         + "' too, so each would skip the batches the "
                           "other wrote: give one of them a sink_name of "
                           "its own (table_options)");
}

namespace {

[[noreturn]] void bad_options(const char* sink, const std::string& table,
                              const std::string& what) {
  throw stream_error(errc::invalid_graph, std::string{sink} + " into table '"
                                            + table + "': " + what);
}

} // namespace

void check_table_options(const char* sink, const std::string& table,
                         const table_options& opts, size_t arity) {
  if (table.empty())
    bad_options(sink, table, "the table name is empty");
  auto& cols = opts.columns;
  if (cols.empty()) {
    if (opts.create_if_missing)
      bad_options(sink, table, "create_if_missing needs the column names "
                               "(table_options::columns)");
    if (!opts.upsert_key.empty())
      bad_options(sink, table, "upsert_key needs the column names "
                               "(table_options::columns)");
    return;
  }
  if (cols.size() != arity)
    bad_options(sink, table, std::to_string(cols.size())
                               + " column names for rows of "
                               + std::to_string(arity) + " values");
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].empty())
      bad_options(sink, table, "column " + std::to_string(i + 1)
                                 + " has an empty name");
    if (std::find(cols.begin(), cols.begin() + i, cols[i]) != cols.begin() + i)
      bad_options(sink, table, "column '" + cols[i] + "' appears twice");
  }
  for (auto& k : opts.upsert_key)
    if (std::find(cols.begin(), cols.end(), k) == cols.end())
      bad_options(sink, table, "upsert key '" + k + "' is not a column");
}

std::string quote_identifier(const std::string& name) {
  std::string result = "\"";
  for (auto c : name) {
    if (c == '"')
      result += '"';
    result += c;
  }
  return result + '"';
}

namespace {

std::string sql_type(dialect d, const column_type& t) {
  if (d == dialect::sqlite)
    return t.sql_type;
  std::string x = t.sql_type;
  if (x == "INTEGER")
    return "bigint";
  if (x == "REAL")
    return "double precision";
  if (x == "BLOB")
    return "bytea";
  return "text";
}

std::string placeholder(dialect d, size_t i) {
  return d == dialect::sqlite ? "?" : "$" + std::to_string(i + 1);
}

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs)
    result += (result.empty() ? "" : ", ") + x;
  return result;
}

} // namespace

table_sql make_table_sql(dialect d, const std::string& table,
                         const table_options& opts,
                         const std::vector<column_type>& types) {
  table_sql result;
  auto progress = quote_identifier("caf_stream_progress");
  result.create_progress = "create table if not exists " + progress
                           + " (sink text primary key, batch_time "
                           + (d == dialect::sqlite ? "integer" : "bigint")
                           + " not null)";
  result.read_progress = "select batch_time from " + progress
                         + " where sink = " + placeholder(d, 0);
  result.write_progress = "insert into " + progress
                          + " (sink, batch_time) values (" + placeholder(d, 0)
                          + ", " + placeholder(d, 1)
                          + ") on conflict (sink) do update set batch_time "
                            "= excluded.batch_time";
  auto offsets = quote_identifier("caf_stream_offsets");
  result.create_offsets = "create table if not exists " + offsets
                          + " (sink text not null, topic text not null, "
                            "kafka_partition integer not null, until_offset "
                          + (d == dialect::sqlite ? "integer" : "bigint")
                          + " not null, primary key (sink, topic, "
                            "kafka_partition))";
  result.write_offsets = "insert into " + offsets
                         + " (sink, topic, kafka_partition, until_offset) "
                           "values ("
                         + placeholder(d, 0) + ", " + placeholder(d, 1) + ", "
                         + placeholder(d, 2) + ", " + placeholder(d, 3)
                         + ") on conflict (sink, topic, kafka_partition) do "
                           "update set until_offset = excluded.until_offset";
  result.read_offsets = "select topic, kafka_partition, until_offset from "
                        + offsets + " where sink = " + placeholder(d, 0);
  auto name = quote_identifier(table);
  std::vector<std::string> cols;
  for (auto& c : opts.columns)
    cols.push_back(quote_identifier(c));
  std::vector<std::string> keys;
  for (auto& k : opts.upsert_key)
    keys.push_back(quote_identifier(k));
  if (opts.create_if_missing) {
    std::vector<std::string> defs;
    for (size_t i = 0; i < cols.size(); ++i)
      defs.push_back(cols[i] + " " + sql_type(d, types[i])
                     + (types[i].nullable ? "" : " not null"));
    if (!keys.empty())
      defs.push_back("primary key (" + join(keys) + ")");
    result.create_table = "create table if not exists " + name + " ("
                          + join(defs) + ")";
  }
  std::vector<std::string> marks;
  for (size_t i = 0; i < types.size(); ++i)
    marks.push_back(placeholder(d, i));
  result.insert = "insert into " + name
                  + (cols.empty() ? "" : " (" + join(cols) + ")") + " values ("
                  + join(marks) + ")";
  if (!keys.empty()) {
    std::vector<std::string> updates;
    for (auto& c : cols)
      if (std::find(keys.begin(), keys.end(), c) == keys.end())
        updates.push_back(c + " = excluded." + c);
    result.insert += " on conflict (" + join(keys) + ") do "
                     + (updates.empty() ? "nothing"
                                        : "update set " + join(updates));
  }
  return result;
}

} // namespace caf_stream::sinks::detail
