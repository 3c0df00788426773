#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/dstream.hpp"
#include "caf_stream/sinks/row.hpp"
#include "caf_stream/time.hpp"

namespace caf_stream::sinks::detail {

/// The database side of a sink: writes each batch in one transaction that
/// also records the batch in the progress table (`caf_stream_progress`:
/// one row per sink with the time of its last batch). Batches complete in
/// time order, so a batch at or before the recorded time was written
/// already: after a recovery re-runs it, it writes nothing twice.
class table_writer {
public:
  virtual ~table_writer();

  /// Writes `rows` as batch `t_ms`, and the until offsets of `offsets` into
  /// `caf_stream_offsets`; returns false, writing nothing, if the progress
  /// table holds this batch or a later one. Throws on any database error,
  /// the transaction rolled back.
  virtual bool write_batch(int64_t t_ms, const std::vector<row>& rows,
                           const std::vector<kafka::offset_range>& offsets)
    = 0;

  /// Drops the connection after a failure; the next write connects again.
  virtual void reset() noexcept = 0;

  /// Names the sink in messages: "save_to_sqlite('/x.db', table 't')".
  virtual std::string describe() const = 0;

  /// Where the sink records its batches: its database (a SQLite file's
  /// absolute path, a PostgreSQL conninfo as given; empty for a database of
  /// its own, SQLite's ":memory:") and its name in the progress table.
  virtual std::pair<std::string, std::string> progress_row() const = 0;
};

/// Gives `writer` its progress row in `graph`; throws `stream_error`
/// (errc::invalid_graph) if another sink of the graph records its batches
/// there already, since each would skip the batches the other wrote.
void claim_progress_row(caf_stream::detail::dstream_graph& graph,
                        const table_writer& writer);

/// Writes batch `t` with up to `max_retries` retries after a failure
/// (reconnecting each time, with a short growing pause); then throws
/// `stream_error` (errc::sink_failure) with the database's last message.
/// Returns false if the batch was written already: by an attempt whose
/// commit a lost connection hid, or, if the run recovered from a checkpoint
/// (`restored`), before the crash. Throws `stream_error`
/// (errc::sink_failure) if the progress table holds the batch otherwise:
/// another application records its batches under the same name.
bool write_with_retries(table_writer& writer, time t,
                        const std::vector<row>& rows,
                        const std::vector<kafka::offset_range>& offsets,
                        size_t max_retries, bool restored);

/// Throws `stream_error` (errc::invalid_graph) unless `opts` fit a table
/// with `arity` columns: `create_if_missing` and `upsert_key` need
/// `columns`, one name per column, and keys among the columns.
void check_table_options(const char* sink, const std::string& table,
                         const table_options& opts, size_t arity);

/// Where the SQL of SQLite and PostgreSQL differs.
enum class dialect { sqlite, postgresql };

/// `"name"`, with quotes inside doubled: any table or column name is safe
/// to splice into SQL.
std::string quote_identifier(const std::string& name);

/// The statements of a sink, built once from its options.
struct table_sql {
  std::string create_progress;
  std::string read_progress;
  std::string write_progress;
  /// Empty unless `create_if_missing`.
  std::string create_table;
  std::string insert;
  std::string create_offsets;
  std::string write_offsets;
  std::string read_offsets;
};

table_sql make_table_sql(dialect d, const std::string& table,
                         const table_options& opts,
                         const std::vector<column_type>& types);

/// Adds the output operation of a database sink: every batch, the rows of
/// all records go to `writer` in one transaction, at most once per batch.
template <class T, class RowFn>
void add_database_sink(
  const dstream<T>& stream, std::shared_ptr<table_writer> writer,
  RowFn row_fn,
  std::function<std::vector<kafka::offset_range>(time)> kafka_offsets) {
  // The graph owns this output; a plain pointer breaks the cycle.
  auto* graph = stream.graph().get();
  claim_progress_row(*graph, *writer);
  stream.foreach_rdd([writer, row_fn, graph, kafka_offsets](const rdd<T>& x,
                                                            time t) {
    std::vector<row> rows;
    for (const auto& r : x.collect())
      rows.push_back(to_row(row_fn(r)));
    std::vector<kafka::offset_range> offsets;
    if (kafka_offsets)
      offsets = kafka_offsets(t);
    write_with_retries(*writer, t, rows, offsets, graph->sink_max_retries(),
                       graph->restored());
  });
}


/// The tuple type that `row_fn` makes from a `T`.
template <class T, class RowFn>
using row_tuple_t = std::decay_t<std::invoke_result_t<RowFn, const T&>>;

} // namespace caf_stream::sinks::detail
