#pragma once
// SqlConnection: the little a relational backend must offer the SQL store — transactions and
// parameterised statements returning materialised rows — so the store's logic (core/store/
// sql_store*.cpp) is written once for SQLite and PostgreSQL. Statements use ?1, ?2 … placeholders;
// a driver rewrites them for its database. Drivers throw; the store maps with classify().
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace hydrate::store::sql {

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// One result row; getters convert between text and numbers, NULL reads as 0 / "".
class Row {
 public:
  explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}
  std::string text(std::size_t i) const;
  std::int64_t int64(std::size_t i) const;
  int int32(std::size_t i) const { return static_cast<int>(int64(i)); }
  double real(std::size_t i) const;
  bool is_null(std::size_t i) const { return std::holds_alternative<std::nullptr_t>(cells_.at(i)); }

 private:
  std::vector<Value> cells_;
};

struct Rows {
  std::vector<Row> rows;
  std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
  bool empty() const { return rows.empty(); }
  const Row& front() const { return rows.front(); }
};

// Which SQL a backend needs where dialects differ.
enum class Backend { sqlite, postgres };

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;
  // Starts a transaction that will write: SQLite takes the write lock at once (BEGIN IMMEDIATE)
  // so writers queue on the busy timeout instead of deadlocking.
  virtual void begin_write() = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  // Runs one statement (cached/prepared by its text) and returns its rows.
  virtual Rows run(std::string_view sql, const std::vector<Value>& params) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual void run_script(std::string_view sql) = 0;
  // Maps what run/commit threw to an Error; transient for busy/locked/serialization/lost
  // connection, conflict for unique violations.
  virtual Error classify(const std::exception& e, const std::string& what) const = 0;
  // True for failures a transaction may simply run again after: deadlocks and serialization
  // failures (never a lost connection: a commit may have happened).
  virtual bool should_retry(const std::exception& e) const = 0;
  // Re-establishes a lost connection; no-op when healthy. Throws when it cannot.
  virtual void reconnect_if_broken() = 0;
  // Waits up to timeout for a notification on channel, outside any transaction; true when one
  // came. The first call starts listening (PostgreSQL LISTEN). A backend without notifications
  // (SQLite) sleeps the whole timeout and returns false: its waiters poll.
  virtual bool await_notification(const std::string& channel, int timeout_ms) = 0;

  // The metric deltas of the open write transaction by (name, labels), which the store adds up
  // as it goes and writes with one statement just before it commits (sql_common.cpp,
  // add_metric and write_metrics): the metric rows every step shares are locked only for the
  // commit. Emptied when the transaction ends, whichever way.
  std::map<std::pair<std::string, std::string>, double> metric_deltas;
  // The counter rows this connection adds to (the metrics table's shard): PostgreSQL picks one of
  // kMetricShards at random when it connects, so writers on different connections rarely share
  // a row and never wait on each other's commits for it; SQLite, with one writer, keeps 0.
  static constexpr int kMetricShards = 64;
  int metric_shard = 0;
};

// What a driver's connect throws when the database cannot be opened: kind says whether waiting
// may help (transient, unavailable: a busy file, a server that is down or restarting) or not
// (permanent: a wrong password, a database that does not exist, a file that is not a database).
struct OpenFailure : std::runtime_error {
  OpenFailure(ErrorKind failure_kind, const std::string& message)
      : std::runtime_error(message), kind(failure_kind) {}
  ErrorKind kind;
};

// The SQLite driver (SQLiteCpp): WAL, busy timeout, statements cached by text.
std::unique_ptr<Connection> connect_sqlite(const std::string& path, bool create,
                                           int busy_timeout_ms);
// The PostgreSQL driver (libpqxx): one connection, statements prepared once per connection.
// Throws OpenFailure when it cannot connect.
std::unique_ptr<Connection> connect_postgres(const std::string& url);
// How to take libpq's message for a connection that failed: permanent when the server refused
// the client for good (authentication, no such database or role, no pg_hba.conf entry) or the
// URL is malformed; unavailable otherwise (refused, reset, timed out, starting up, shutting down,
// too many clients), so the caller may wait. Unknown (e.g. translated) messages are unavailable.
ErrorKind postgres_open_failure_kind(std::string_view message);

}  // namespace hydrate::store::sql
