#pragma once
// Private to the SQLite store: the connection, statement helpers and error mapping.
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>

#include <string>
#include <utility>

#include "core/model.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"

namespace hydrate::store::sqlite {

// Maps a SQLite failure to an Error: busy/locked are transient, read-only, corrupt and
// not-a-database are named as such.
Error map_exception(const std::exception& e, const std::string& what);

// Runs body, turning any exception into an Error about `what`.
template <class F>
auto guarded(const std::string& what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return map_exception(e, what);
  }
}

// A prepared statement with its arguments bound.
template <class... Args>
SQLite::Statement query(SQLite::Database& db, const char* sql, const Args&... args) {
  SQLite::Statement statement(db, sql);
  if constexpr (sizeof...(Args) > 0) SQLite::bind(statement, args...);
  return statement;
}

// Optional text/ints stored as NULL when empty/zero.
inline void bind_nullable(SQLite::Statement& s, int index, const std::string& text) {
  if (text.empty())
    s.bind(index);
  else
    s.bind(index, text);
}

// Column list and reader for Job rows; the SELECT must list kJobColumns first, from offset.
extern const char* const kJobColumns;
Job read_job(SQLite::Statement& s, int offset = 0);

// Counter and gauge updates inside the caller's transaction.
void add_metric(SQLite::Database& db, const std::string& name, const std::string& labels,
                double delta);
void set_metric(SQLite::Database& db, const std::string& name, const std::string& labels,
                double value);

// Closes the root when nothing of its tree is pending or running (inside the caller's
// transaction). Returns the status it closed with.
std::optional<JobStatus> close_root_if_finished(SQLite::Database& db, const std::string& root_id,
                                                Millis now);

// Inserts jobs, skipping those whose (parent, kind, position) exists. Returns inserted count.
int insert_jobs(SQLite::Database& db, const std::vector<NewJob>& jobs, Millis now);

}  // namespace hydrate::store::sqlite
