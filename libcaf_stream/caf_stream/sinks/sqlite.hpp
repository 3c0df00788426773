#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/sinks/database.hpp"

namespace caf_stream::sinks {

namespace detail {

/// A `table_writer` into the SQLite database file `path`.
std::shared_ptr<table_writer>
make_sqlite_writer(std::string path, std::string table, table_options opts,
                   std::vector<column_type> types);

} // namespace detail

/// The until offsets that the sink named `sink_name` of the SQLite file
/// `path` stored with its rows (`table_options::kafka_offsets`), to start
/// `kafka::assign` from; empty if it stored none. Throws `stream_error`
/// (errc::sink_failure) if the database cannot be read.
std::map<kafka::topic_partition, int64_t>
sqlite_offsets(const std::string& path, const std::string& sink_name);

/// Writes every batch of `stream` into `table` of the SQLite database file
/// `path` (created if missing), one row `row_fn(x)` per record (a
/// `std::tuple` or `std::pair` of column values): each batch in one
/// transaction that also records it in the progress table, so a batch that
/// runs again after a recovery is not written twice (exactly once by batch
/// time). A failed write is retried `stream.sink.max-retries` times, then
/// fails the batch with SQLite's message. See `table_options` for column
/// names, creating the table and upserts.
template <class T, class RowFn>
void save_to_sqlite(const dstream<T>& stream, std::string path,
                    std::string table, RowFn row_fn, table_options opts = {}) {
  static_assert(std::is_invocable_v<RowFn, const T&>,
                "save_to_sqlite expects row_fn(const T&) -> std::tuple<...> "
                "or std::pair<...> of column values");
  using tuple = detail::row_tuple_t<T, RowFn>;
  auto types = column_types<tuple>();
  detail::check_table_options("save_to_sqlite", table, opts, types.size());
  auto kafka_offsets = opts.kafka_offsets;
  auto writer = detail::make_sqlite_writer(std::move(path), std::move(table),
                                           std::move(opts), std::move(types));
  detail::add_database_sink(stream, std::move(writer), std::move(row_fn),
                            std::move(kafka_offsets));
}

} // namespace caf_stream::sinks
