#include "core/store/sqlite_db.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include "core/metrics.hpp"

namespace hydrate::store::sqlite {

Error map_exception(const std::exception& e, const std::string& what) {
  if (const auto* sql = dynamic_cast<const SQLite::Exception*>(&e)) {
    int code = sql->getErrorCode();
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      return make_error(ErrorKind::transient, what + ": the database is busy, try again");
    }
    if (code == SQLITE_READONLY) {
      return make_error(ErrorKind::permanent, what + ": the database is read-only");
    }
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
      return make_error(ErrorKind::permanent,
                        what + ": the database file is corrupt or not a SQLite database");
    }
    if (code == SQLITE_CANTOPEN || code == SQLITE_PERM || code == SQLITE_AUTH) {
      return make_error(ErrorKind::unavailable,
                        what + ": cannot open the database: " + sql->what());
    }
    if (code == SQLITE_FULL || code == SQLITE_IOERR) {
      return make_error(ErrorKind::transient, what + ": " + sql->what());
    }
    if (code == SQLITE_CONSTRAINT)
      return make_error(ErrorKind::conflict, what + ": " + sql->what());
    return make_error(ErrorKind::permanent, what + ": " + sql->what());
  }
  return make_error(ErrorKind::permanent, what + ": " + e.what());
}

const char* const kJobColumns =
    "id, kind, parent_id, root_id, position, status, priority, input, attempts, max_attempts, "
    "run_after, lease_holder, lease_token, lease_expires_at, created_at, started_at, finished_at, "
    "last_error, estimated_cost_usd, actual_cost_usd";

Job read_job(SQLite::Statement& s, int o) {
  Job job;
  job.id = s.getColumn(o + 0).getString();
  job.kind = parse_job_kind(s.getColumn(o + 1).getString()).value_or(JobKind::subject);
  job.parent_id = s.getColumn(o + 2).getString();
  job.root_id = s.getColumn(o + 3).getString();
  job.position = s.getColumn(o + 4).getInt();
  job.status = parse_job_status(s.getColumn(o + 5).getString()).value_or(JobStatus::pending);
  job.priority = s.getColumn(o + 6).getInt();
  job.input = s.getColumn(o + 7).getString();
  job.attempts = s.getColumn(o + 8).getInt();
  job.max_attempts = s.getColumn(o + 9).getInt();
  job.run_after = s.getColumn(o + 10).getInt64();
  job.lease_holder = s.getColumn(o + 11).getString();
  job.lease_token = s.getColumn(o + 12).getString();
  job.lease_expires_at = s.getColumn(o + 13).getInt64();
  job.created_at = s.getColumn(o + 14).getInt64();
  job.started_at = s.getColumn(o + 15).getInt64();
  job.finished_at = s.getColumn(o + 16).getInt64();
  job.last_error = s.getColumn(o + 17).getString();
  job.estimated_cost_usd = s.getColumn(o + 18).getDouble();
  job.actual_cost_usd = s.getColumn(o + 19).getDouble();
  return job;
}

void add_metric(SQLite::Database& db, const std::string& name, const std::string& labels,
                double delta) {
  query(db,
        "INSERT INTO metrics (name, labels, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value",
        name, labels, delta)
      .exec();
}

void set_metric(SQLite::Database& db, const std::string& name, const std::string& labels,
                double value) {
  query(db,
        "INSERT INTO metrics (name, labels, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name, labels) DO UPDATE SET value = excluded.value",
        name, labels, value)
      .exec();
}

std::optional<JobStatus> close_root_if_finished(SQLite::Database& db, const std::string& root_id,
                                                Millis now) {
  auto s = query(db,
                 "UPDATE roots SET "
                 "  status = CASE WHEN f.bad > 0 THEN 'failed' ELSE 'succeeded' END, "
                 "  reason = CASE WHEN f.bad > 0 THEN f.failed || ' step(s) failed, ' || "
                 "           f.cancelled || ' cancelled' END, "
                 "  finished_at = ?2 "
                 "FROM (SELECT count(*) FILTER (WHERE status IN ('failed', 'cancelled')) AS bad, "
                 "             count(*) FILTER (WHERE status = 'failed') AS failed, "
                 "             count(*) FILTER (WHERE status = 'cancelled') AS cancelled "
                 "      FROM jobs WHERE root_id = ?1) AS f "
                 "WHERE roots.job_id = ?1 AND roots.status IN ('pending', 'running') "
                 "  AND NOT EXISTS (SELECT 1 FROM jobs WHERE root_id = ?1 "
                 "                  AND status IN ('pending', 'running')) "
                 "RETURNING roots.status",
                 root_id, now);
  if (!s.executeStep()) return std::nullopt;
  auto status = parse_job_status(s.getColumn(0).getString());
  s.reset();
  if (status)
    add_metric(db, metrics::kRootsFinished, fmt::format("status=\"{}\"", to_string(*status)), 1);
  return status;
}

int insert_jobs(SQLite::Database& db, const std::vector<NewJob>& jobs, Millis now) {
  int inserted = 0;
  SQLite::Statement s(db,
                      "INSERT INTO jobs (id, kind, parent_id, root_id, position, status, priority, "
                      "input, attempts, max_attempts, run_after, created_at, updated_at, "
                      "estimated_cost_usd) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, 0, ?8, ?9, ?9, ?9, ?10) "
                      "ON CONFLICT DO NOTHING");
  for (const auto& job : jobs) {
    s.bind(1, job.id);
    s.bind(2, to_string(job.kind));
    bind_nullable(s, 3, job.parent_id);
    s.bind(4, job.root_id);
    s.bind(5, job.position);
    s.bind(6, job.priority);
    s.bind(7, job.input);
    s.bind(8, job.max_attempts);
    s.bind(9, static_cast<std::int64_t>(now));
    s.bind(10, job.estimated_cost_usd);
    int changed = s.exec();
    s.reset();
    if (changed > 0) {
      ++inserted;
      add_metric(db, metrics::kJobsCreated, fmt::format("target=\"{}\"", to_string(job.kind)), 1);
    }
  }
  return inserted;
}

}  // namespace hydrate::store::sqlite
