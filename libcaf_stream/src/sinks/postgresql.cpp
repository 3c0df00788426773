#include "caf_stream/sinks/postgresql.hpp"

#include <charconv>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <pqxx/pqxx>

#include "caf_stream/error.hpp"

namespace caf_stream::sinks::detail {

namespace {

using text_row = std::vector<std::optional<std::string>>;

// PostgreSQL's text form of a value (NULL as none); bytea in hex.
std::optional<std::string> to_text(const value& x) {
  if (auto i = std::get_if<int64_t>(&x))
    return std::to_string(*i);
  if (auto d = std::get_if<double>(&x)) {
    // The shortest text that reads back as the same double.
    char buf[32];
    auto end = std::to_chars(buf, buf + sizeof(buf), *d).ptr;
    return std::string{buf, end};
  }
  if (auto s = std::get_if<std::string>(&x))
    return *s;
  if (auto b = std::get_if<blob>(&x)) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string result = "\\x";
    for (auto byte : *b) {
      result += digits[byte >> 4];
      result += digits[byte & 0x0f];
    }
    return result;
  }
  return std::nullopt;
}

text_row to_text_row(const row& r) {
  text_row result;
  result.reserve(r.size());
  for (auto& x : r)
    result.push_back(to_text(x));
  return result;
}

// libpqxx 6.4's `stream_to` takes rows as tuples only: rows of up to this
// many columns become tuples of that size; wider ones are inserted.
constexpr size_t max_copy_columns = 16;

template <size_t... Is>
void copy_fixed_row(pqxx::stream_to& out, const text_row& r,
                    std::index_sequence<Is...>) {
  out << std::make_tuple(r[Is]...);
}

template <size_t... Ns>
void copy_row(pqxx::stream_to& out, const text_row& r,
              std::index_sequence<Ns...>) {
  auto try_size = [&](auto n) {
    if (r.size() != n.value)
      return false;
    copy_fixed_row(out, r, std::make_index_sequence<n.value>{});
    return true;
  };
  (try_size(std::integral_constant<size_t, Ns + 1>{}) || ...);
}

// The password, if any, stays out of messages.
std::string without_password(const std::string& conninfo) {
  auto pos = conninfo.find("password=");
  if (pos == std::string::npos)
    return conninfo;
  auto end = conninfo.find(' ', pos);
  return conninfo.substr(0, pos) + "password=***"
         + (end == std::string::npos ? "" : conninfo.substr(end));
}

class postgresql_writer final : public table_writer {
public:
  postgresql_writer(std::string conninfo, std::string table,
                    table_options opts, std::vector<column_type> types)
    : conninfo_(std::move(conninfo)),
      table_(std::move(table)),
      sink_(opts.sink_name.empty() ? table_ : opts.sink_name),
      upsert_(!opts.upsert_key.empty()),
      columns_(types.size()),
      sql_(make_table_sql(dialect::postgresql, table_, opts, types)) {
    for (auto& c : opts.columns)
      quoted_columns_.push_back(quote_identifier(c));
  }

  bool write_batch(int64_t t_ms, const std::vector<row>& rows,
                   const std::vector<kafka::offset_range>& offsets) override {
    std::lock_guard<std::mutex> guard{mtx_};
    connect();
    pqxx::work w{*conn_};
    auto done = w.exec_prepared("read_progress", sink_);
    if (!done.empty() && done[0][0].as<int64_t>() >= t_ms) {
      w.abort();
      return false;
    }
    if (upsert_ || columns_ > max_copy_columns) {
      for (const auto& r : rows)
        w.exec_prepared("insert",
                        pqxx::prepare::make_dynamic_params(to_text_row(r)));
    } else if (!rows.empty()) {
      // libpqxx 6.4 splices the names into COPY as they are: quoted here.
      auto table = quote_identifier(table_);
      std::optional<pqxx::stream_to> copy;
      if (quoted_columns_.empty())
        copy.emplace(w, table);
      else
        copy.emplace(w, table, quoted_columns_);
      for (const auto& r : rows)
        copy_row(*copy, to_text_row(r),
                 std::make_index_sequence<max_copy_columns>{});
      copy->complete();
    }
    for (const auto& r : offsets)
      w.exec_prepared("write_offsets", sink_, r.topic, r.partition,
                      r.until_offset);
    w.exec_prepared("write_progress", sink_, t_ms);
    w.commit();
    return true;
  }

  void reset() noexcept override {
    std::lock_guard<std::mutex> guard{mtx_};
    conn_.reset();
  }

  std::string describe() const override {
    return "save_to_postgresql('" + without_password(conninfo_) + "', table '"
           + table_ + "')";
  }

  std::pair<std::string, std::string> progress_row() const override {
    return {conninfo_, sink_};
  }

private:
  void connect() {
    if (conn_)
      return;
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    {
      pqxx::work w{*conn};
      w.exec0(sql_.create_progress);
      w.exec0(sql_.create_offsets);
      if (!sql_.create_table.empty())
        w.exec0(sql_.create_table);
      w.commit();
    }
    conn->prepare("read_progress", sql_.read_progress);
    conn->prepare("write_progress", sql_.write_progress);
    conn->prepare("write_offsets", sql_.write_offsets);
    conn->prepare("insert", sql_.insert);
    conn_ = std::move(conn);
  }

  std::string conninfo_;
  std::string table_;
  std::string sink_;
  bool upsert_;
  size_t columns_;
  table_sql sql_;
  std::vector<std::string> quoted_columns_;
  std::mutex mtx_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace

std::shared_ptr<table_writer>
make_postgresql_writer(std::string conninfo, std::string table,
                       table_options opts, std::vector<column_type> types) {
  return std::make_shared<postgresql_writer>(std::move(conninfo),
                                             std::move(table), std::move(opts),
                                             std::move(types));
}

} // namespace caf_stream::sinks::detail

namespace caf_stream::sinks {

std::map<kafka::topic_partition, int64_t>
postgresql_offsets(const std::string& conninfo, const std::string& sink_name) {
  using namespace detail;
  std::map<kafka::topic_partition, int64_t> result;
  try {
    pqxx::connection conn{conninfo};
    pqxx::work w{conn};
    auto exists = w.exec1("select to_regclass('caf_stream_offsets') is not "
                          "null");
    if (!exists[0].as<bool>())
      return result;
    auto sql = make_table_sql(dialect::postgresql, "t", {}, {}).read_offsets;
    for (const auto& r : w.exec_params(sql, sink_name))
      result[{r[0].as<std::string>(), r[1].as<int32_t>()}]
        = r[2].as<int64_t>();
  } catch (const std::exception& e) {
    throw stream_error(errc::sink_failure,
                       "postgresql_offsets('" + without_password(conninfo)
                         + "'): " + e.what());
  }
  return result;
}

} // namespace caf_stream::sinks
