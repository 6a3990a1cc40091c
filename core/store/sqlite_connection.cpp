// The SQLite driver of the SQL store (SQLiteCpp).
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "core/store/sql_connection.hpp"

namespace hydrate::store::sql {
namespace {

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(const std::string& path, int flags, int busy_timeout_ms)
      : db_(path, flags, busy_timeout_ms) {
    db_.execAndGet("PRAGMA journal_mode = WAL");  // stays as it is on a read-only file
    db_.exec("PRAGMA synchronous = NORMAL");
    db_.exec("PRAGMA foreign_keys = OFF");
  }

  Backend backend() const override { return Backend::sqlite; }
  void begin_write() override { db_.exec("BEGIN IMMEDIATE"); }
  void begin_read() override { db_.exec("BEGIN"); }
  void commit() override { db_.exec("COMMIT"); }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_.getHandle())) {
      try {
        db_.exec("ROLLBACK");
      } catch (...) {
      }
    }
  }

  Rows run(std::string_view sql, const std::vector<Value>& params) override {
    auto& statement = prepared(sql);
    statement.reset();
    statement.clearBindings();
    for (std::size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>)
              statement.bind(index);
            else
              statement.bind(index, v);
          },
          params[i]);
    }
    Rows out;
    int columns = statement.getColumnCount();
    while (statement.executeStep()) {
      std::vector<Value> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        SQLite::Column column = statement.getColumn(c);
        switch (column.getType()) {
          case SQLITE_INTEGER:
            cells.emplace_back(static_cast<std::int64_t>(column.getInt64()));
            break;
          case SQLITE_FLOAT:
            cells.emplace_back(column.getDouble());
            break;
          case SQLITE_NULL:
            cells.emplace_back(nullptr);
            break;
          default:
            cells.emplace_back(column.getString());
            break;
        }
      }
      out.rows.emplace_back(std::move(cells));
    }
    out.affected = sqlite3_changes(db_.getHandle());
    statement.reset();
    return out;
  }

  void run_script(std::string_view sql) override { db_.exec(std::string(sql)); }

  Error classify(const std::exception& e, const std::string& what) const override {
    const auto* error = dynamic_cast<const SQLite::Exception*>(&e);
    if (!error) return make_error(ErrorKind::permanent, what + ": " + e.what());
    switch (error->getErrorCode()) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return make_error(ErrorKind::transient, what + ": the database is busy, try again");
      case SQLITE_READONLY:
        return make_error(ErrorKind::permanent, what + ": the database is read-only");
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
        return make_error(ErrorKind::permanent,
                          what + ": the database file is corrupt or not a SQLite database");
      case SQLITE_CANTOPEN:
      case SQLITE_PERM:
      case SQLITE_AUTH:
        return make_error(ErrorKind::unavailable, what + ": cannot open the database: " + e.what());
      case SQLITE_FULL:
      case SQLITE_IOERR:
        return make_error(ErrorKind::transient, what + ": " + e.what());
      case SQLITE_CONSTRAINT:
        return make_error(ErrorKind::conflict, what + ": " + e.what());
      default:
        return make_error(ErrorKind::permanent, what + ": " + e.what());
    }
  }

  bool should_retry(const std::exception&) const override { return false; }
  void reconnect_if_broken() override {}
  bool await_notification(const std::string&, int timeout_ms) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return false;
  }

 private:
  SQLite::Statement& prepared(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      explain(sql);
      it =
          statements_
              .emplace(std::string(sql), std::make_unique<SQLite::Statement>(db_, std::string(sql)))
              .first;
    }
    return *it->second;
  }

  // With HYDRATE_SQLITE_EXPLAIN=FILE, appends each statement's query plan to FILE the first time
  // this connection prepares it: "-- statement" and then the plan's lines, as EXPLAIN QUERY PLAN
  // prints them (tests/e2e/sqlite_query_plans.sh reads them). Never set in production.
  void explain(std::string_view sql) {
    static const char* const path = std::getenv("HYDRATE_SQLITE_EXPLAIN");
    if (path == nullptr || *path == '\0') return;
    std::ofstream out(path, std::ios::app);
    out << "-- " << sql << "\n";
    SQLite::Statement plan(db_, "EXPLAIN QUERY PLAN " + std::string(sql));
    while (plan.executeStep()) out << plan.getColumn(3).getString() << "\n";
  }

  SQLite::Database db_;
  // Keyed by text; std::less<> finds a statement without copying its text.
  std::map<std::string, std::unique_ptr<SQLite::Statement>, std::less<>> statements_;
};

}  // namespace

std::unique_ptr<Connection> connect_sqlite(const std::string& path, bool create,
                                           int busy_timeout_ms) {
  int flags = SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0);
  try {
    return std::make_unique<SqliteConnection>(path, flags, busy_timeout_ms);
  } catch (const SQLite::Exception& e) {
    // Only a busy file opens by waiting; a path that cannot be opened or is no database won't.
    int code = e.getErrorCode();
    throw OpenFailure(
        code == SQLITE_BUSY || code == SQLITE_LOCKED ? ErrorKind::transient : ErrorKind::permanent,
        e.what());
  }
}

}  // namespace hydrate::store::sql
