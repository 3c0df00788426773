#include "caf_stream/sinks/sqlite.hpp"

#include <filesystem>
#include <mutex>
#include <stdexcept>

#include <sqlite3.h>

#include "caf_stream/error.hpp"

namespace caf_stream::sinks::detail {

namespace {

struct db_closer {
  void operator()(sqlite3* db) const noexcept {
    sqlite3_close_v2(db);
  }
};

struct statement_finalizer {
  void operator()(sqlite3_stmt* x) const noexcept {
    sqlite3_finalize(x);
  }
};

using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using statement_ptr = std::unique_ptr<sqlite3_stmt, statement_finalizer>;

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    fail(db, sql);
}

statement_ptr prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
    fail(db, sql);
  return statement_ptr{raw};
}

void bind_value(sqlite3* db, sqlite3_stmt* st, int index, const value& x) {
  int rc = SQLITE_OK;
  if (auto i = std::get_if<int64_t>(&x)) {
    rc = sqlite3_bind_int64(st, index, *i);
  } else if (auto d = std::get_if<double>(&x)) {
    rc = sqlite3_bind_double(st, index, *d);
  } else if (auto s = std::get_if<std::string>(&x)) {
    rc = sqlite3_bind_text64(st, index, s->data(), s->size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8);
  } else if (auto b = std::get_if<blob>(&x)) {
    rc = b->empty() ? sqlite3_bind_zeroblob(st, index, 0)
                    : sqlite3_bind_blob64(st, index, b->data(), b->size(),
                                          SQLITE_TRANSIENT);
  } else {
    rc = sqlite3_bind_null(st, index);
  }
  if (rc != SQLITE_OK)
    fail(db, "cannot bind value " + std::to_string(index));
}

// Runs `st` to completion; returns whether it produced a row.
bool step(sqlite3* db, sqlite3_stmt* st, const char* what) {
  auto rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return true;
  if (rc != SQLITE_DONE)
    fail(db, what);
  return false;
}

class sqlite_writer final : public table_writer {
public:
  sqlite_writer(std::string path, std::string table, table_options opts,
                std::vector<column_type> types)
    : path_(std::move(path)),
      table_(std::move(table)),
      sink_(opts.sink_name.empty() ? table_ : opts.sink_name),
      sql_(make_table_sql(dialect::sqlite, table_, opts, types)) {
    // nop
  }

  bool write_batch(int64_t t_ms, const std::vector<row>& rows,
                   const std::vector<kafka::offset_range>& offsets) override {
    std::lock_guard<std::mutex> guard{mtx_};
    connect();
    auto* db = db_.get();
    // Immediate: the write lock is taken before the progress is read.
    exec(db, "begin immediate");
    try {
      auto* read = read_progress_.get();
      sqlite3_reset(read);
      bind_value(db, read, 1, value{sink_});
      if (step(db, read, "reading the progress table")
          && sqlite3_column_int64(read, 0) >= t_ms) {
        sqlite3_reset(read);
        exec(db, "rollback");
        return false;
      }
      sqlite3_reset(read);
      auto* insert = insert_.get();
      for (const auto& r : rows) {
        sqlite3_reset(insert);
        for (size_t i = 0; i < r.size(); ++i)
          bind_value(db, insert, static_cast<int>(i + 1), r[i]);
        step(db, insert, "insert");
      }
      sqlite3_reset(insert);
      auto* store = write_offsets_.get();
      for (const auto& r : offsets) {
        sqlite3_reset(store);
        bind_value(db, store, 1, value{sink_});
        bind_value(db, store, 2, value{r.topic});
        bind_value(db, store, 3, value{int64_t{r.partition}});
        bind_value(db, store, 4, value{r.until_offset});
        step(db, store, "storing the Kafka offsets");
      }
      sqlite3_reset(store);
      auto* write = write_progress_.get();
      sqlite3_reset(write);
      bind_value(db, write, 1, value{sink_});
      bind_value(db, write, 2, value{t_ms});
      step(db, write, "recording the batch in the progress table");
      sqlite3_reset(write);
      exec(db, "commit");
    } catch (...) {
      sqlite3_exec(db, "rollback", nullptr, nullptr, nullptr);
      throw;
    }
    return true;
  }

  void reset() noexcept override {
    std::lock_guard<std::mutex> guard{mtx_};
    read_progress_.reset();
    write_progress_.reset();
    write_offsets_.reset();
    insert_.reset();
    db_.reset();
  }

  std::string describe() const override {
    return "save_to_sqlite('" + path_ + "', table '" + table_ + "')";
  }

  std::pair<std::string, std::string> progress_row() const override {
    if (path_.empty() || path_ == ":memory:")
      return {"", sink_};
    std::error_code ec;
    auto absolute = std::filesystem::weakly_canonical(path_, ec);
    return {ec ? path_ : absolute.string(), sink_};
  }

private:
  void connect() {
    if (db_)
      return;
    sqlite3* raw = nullptr;
    auto rc = sqlite3_open_v2(path_.c_str(), &raw,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              nullptr);
    db_ptr db{raw};
    if (rc != SQLITE_OK)
      throw std::runtime_error("cannot open the database: "
                               + std::string{raw != nullptr
                                               ? sqlite3_errmsg(raw)
                                               : sqlite3_errstr(rc)});
    // Another writer's lock: wait for it rather than fail at once.
    sqlite3_busy_timeout(db.get(), 5000);
    exec(db.get(), sql_.create_progress);
    exec(db.get(), sql_.create_offsets);
    if (!sql_.create_table.empty())
      exec(db.get(), sql_.create_table);
    read_progress_ = prepare(db.get(), sql_.read_progress);
    write_progress_ = prepare(db.get(), sql_.write_progress);
    write_offsets_ = prepare(db.get(), sql_.write_offsets);
    insert_ = prepare(db.get(), sql_.insert);
    db_ = std::move(db);
  }

  std::string path_;
  std::string table_;
  std::string sink_;
  table_sql sql_;
  std::mutex mtx_;
  // Declared after the statements' database: destroyed first.
  db_ptr db_;
  statement_ptr read_progress_;
  statement_ptr write_progress_;
  statement_ptr write_offsets_;
  statement_ptr insert_;
};

} // namespace

std::shared_ptr<table_writer>
make_sqlite_writer(std::string path, std::string table, table_options opts,
                   std::vector<column_type> types) {
  return std::make_shared<sqlite_writer>(std::move(path), std::move(table),
                                         std::move(opts), std::move(types));
}

} // namespace caf_stream::sinks::detail

namespace caf_stream::sinks {

std::map<kafka::topic_partition, int64_t>
sqlite_offsets(const std::string& path, const std::string& sink_name) {
  using namespace detail;
  std::map<kafka::topic_partition, int64_t> result;
  // No database yet: the sink never wrote a batch.
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return result;
  sqlite3* raw = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  db_ptr db{raw};
  auto fail_with = [&](const std::string& what) {
    throw stream_error(errc::sink_failure, "sqlite_offsets('" + path
                                             + "'): " + what);
  };
  if (rc != SQLITE_OK)
    fail_with(std::string{"cannot open the database: "}
              + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_stmt* st = nullptr;
  auto sql = make_table_sql(dialect::sqlite, "t", {}, {}).read_offsets;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &st, nullptr)
      != SQLITE_OK) {
    // No offsets stored yet: the sink never wrote a batch with them.
    if (std::string{sqlite3_errmsg(db.get())}.find("no such table")
        != std::string::npos)
      return result;
    fail_with(sqlite3_errmsg(db.get()));
  }
  statement_ptr guard{st};
  sqlite3_bind_text(st, 1, sink_name.c_str(), -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    result[{reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
            sqlite3_column_int(st, 1)}]
      = sqlite3_column_int64(st, 2);
  if (rc != SQLITE_DONE)
    fail_with(sqlite3_errmsg(db.get()));
  return result;
}

} // namespace caf_stream::sinks
