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

/// A `table_writer` into the PostgreSQL database that `conninfo` names.
std::shared_ptr<table_writer>
make_postgresql_writer(std::string conninfo, std::string table,
                       table_options opts, std::vector<column_type> types);

} // namespace detail

/// The until offsets that the sink named `sink_name` stored with its rows
/// in the PostgreSQL database `conninfo` names; see `sqlite_offsets`.
std::map<kafka::topic_partition, int64_t>
postgresql_offsets(const std::string& conninfo, const std::string& sink_name);

/// Writes every batch of `stream` into `table` of the PostgreSQL database
/// that `conninfo` names (libpq's "host=... port=... dbname=... user=..."),
/// one row `row_fn(x)` per record, exactly once by batch time as
/// `save_to_sqlite` does: one transaction per batch with the progress
/// record, retries, then the database's message. Rows go in with COPY
/// (`pqxx::stream_to`), or as upserts with `table_options::upsert_key`.
template <class T, class RowFn>
void save_to_postgresql(const dstream<T>& stream, std::string conninfo,
                        std::string table, RowFn row_fn,
                        table_options opts = {}) {
  static_assert(std::is_invocable_v<RowFn, const T&>,
                "save_to_postgresql expects row_fn(const T&) -> "
                "std::tuple<...> or std::pair<...> of column values");
  using tuple = detail::row_tuple_t<T, RowFn>;
  auto types = column_types<tuple>();
  detail::check_table_options("save_to_postgresql", table, opts,
                              types.size());
  auto kafka_offsets = opts.kafka_offsets;
  auto writer = detail::make_postgresql_writer(std::move(conninfo),
                                               std::move(table),
                                               std::move(opts),
                                               std::move(types));
  detail::add_database_sink(stream, std::move(writer), std::move(row_fn),
                            std::move(kafka_offsets));
}

} // namespace caf_stream::sinks
