#include "core/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/cascade.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "core/resources.hpp"
#include "core/store/sqlite_store_impl.hpp"

namespace hydrate::store {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const OpenOptions& options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(path, ec)) {
    return make_error(ErrorKind::not_found, fmt::format("database '{}' does not exist", path));
  }
  std::unique_ptr<sqlite::SqliteStore> store;
  int flags = SQLite::OPEN_READWRITE | (options.create_if_missing ? SQLite::OPEN_CREATE : 0);
  auto opened = sqlite::guarded(fmt::format("database '{}'", path), [&]() -> Status {
    store = std::make_unique<sqlite::SqliteStore>(path, flags, options.busy_timeout_ms);
    return ok_status();
  });
  if (!opened) return opened.error();
  if (options.migrate) {
    auto migrated = store->migrate();
    if (!migrated) return migrated.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

namespace sqlite {

using nlohmann::json;

SqliteStore::SqliteStore(const std::string& path, int flags, int busy_timeout_ms)
    : db_(path, flags, busy_timeout_ms) {
  std::string mode = db_.execAndGet("PRAGMA journal_mode = WAL").getString();
  (void)mode;  // stays "memory" for :memory:, "delete" on a read-only file; both still work
  db_.exec("PRAGMA synchronous = NORMAL");
  db_.exec("PRAGMA foreign_keys = OFF");
}

namespace {

struct Migration {
  int version;
  std::string_view sql;
};

std::vector<Migration> embedded_migrations(const std::string& backend) {
  std::vector<Migration> out;
  std::string prefix = "sql/" + backend + "/";
  for (auto name : resources::names()) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    int version = std::atoi(std::string(name.substr(prefix.size(), 3)).c_str());
    if (version > 0) out.push_back({version, *resources::find(name)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  return out;
}

}  // namespace

Result<int> SqliteStore::migrate() {
  return guarded("migrating the database", [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    bool has_tables =
        db_.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'table'").getInt() > 0;
    bool has_versions = db_.tableExists("schema_migrations");
    if (has_tables && !has_versions) {
      return make_error(
          ErrorKind::permanent,
          "the database holds tables but is not a hydrate database (no schema_migrations)");
    }
    db_.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    int current =
        db_.execAndGet("SELECT coalesce(max(version), 0) FROM schema_migrations").getInt();
    auto migrations = embedded_migrations("sqlite");
    int newest = migrations.empty() ? 0 : migrations.back().version;
    if (current > newest) {
      return make_error(ErrorKind::permanent,
                        fmt::format("the database schema is version {}, newer than this hydrate "
                                    "knows ({}); upgrade hydrate",
                                    current, newest));
    }
    for (const auto& migration : migrations) {
      if (migration.version <= current) continue;
      db_.exec(std::string(migration.sql));
      query(db_,
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
            migration.version)
          .exec();
      current = migration.version;
    }
    tx.commit();
    return current;
  });
}

Result<SubmitOutcome> SqliteStore::submit_root(const NewRoot& root) {
  return guarded("submitting", [&]() -> Result<SubmitOutcome> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto live = query(db_,
                      "SELECT job_id FROM roots WHERE dedupe_key = ?1 "
                      "AND status IN ('pending', 'running')",
                      root.dedupe_key);
    if (live.executeStep()) {
      std::string id = live.getColumn(0).getString();
      live.reset();
      auto existing = read_root(id);
      if (!existing) return make_error(ErrorKind::permanent, "live root " + id + " vanished");
      return SubmitOutcome{*existing, true};
    }
    sqlite::insert_jobs(db_, {root.job}, root.now);
    int leaves = (root.options.notes ? 1 : 0) + (root.options.questions ? 1 : 0);
    query(db_,
          "INSERT INTO roots (job_id, status, language, board, grade, subject, options, "
          "dedupe_key, trace_id, estimates, estimated_cost_usd, budget_usd, created_at, "
          "leaves_per_topic) "
          "VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
          root.job.id, root.slot.language, root.slot.board, root.slot.grade, root.slot.subject,
          encode_root_options(root.options), root.dedupe_key, root.trace_id, root.estimates_json,
          root.estimated_cost_usd, root.budget_usd, static_cast<std::int64_t>(root.now), leaves)
        .exec();
    tx.commit();
    auto created = read_root(root.job.id);
    if (!created) return make_error(ErrorKind::permanent, "root " + root.job.id + " vanished");
    return SubmitOutcome{*created, false};
  });
}

Result<std::vector<Job>> SqliteStore::claim_batch(const ClaimRequest& request) {
  return guarded("claiming steps", [&]() -> Result<std::vector<Job>> {
    std::vector<Job> claimed;
    if (request.limit <= 0) return claimed;
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::string sql = fmt::format(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_holder = ?1, "
        "  lease_token = ?2, lease_expires_at = ?3, started_at = coalesce(started_at, ?4), "
        "  updated_at = ?4 "
        "WHERE id IN (SELECT id FROM ("
        "  SELECT * FROM (SELECT id, priority, run_after FROM jobs "
        "    WHERE status = 'pending' AND run_after <= ?4 "
        "    ORDER BY priority DESC, run_after LIMIT ?5) "
        "  UNION ALL "
        "  SELECT * FROM (SELECT id, priority, run_after FROM jobs "
        "    WHERE status = 'running' AND lease_expires_at < ?4 AND attempts < max_attempts "
        "    ORDER BY lease_expires_at LIMIT ?5)) "
        "  ORDER BY priority DESC, run_after LIMIT ?5) "
        "RETURNING {}",
        kJobColumns);
    auto s = query(db_, sql.c_str(), request.holder, new_lease_token(),
                   static_cast<std::int64_t>(request.now + request.lease_ms),
                   static_cast<std::int64_t>(request.now), request.limit);
    while (s.executeStep()) claimed.push_back(read_job(s));
    s.reset();
    for (const auto& job : claimed) {
      if (job.kind == JobKind::subject) {
        query(db_,
              "UPDATE roots SET status = 'running', started_at = ?2 "
              "WHERE job_id = ?1 AND status = 'pending'",
              job.root_id, static_cast<std::int64_t>(request.now))
            .exec();
      }
    }
    if (!claimed.empty())
      add_metric(db_, metrics::kJobsClaimed, "", static_cast<double>(claimed.size()));
    tx.commit();
    return claimed;
  });
}

Result<int> SqliteStore::extend_leases(const std::vector<LeaseRef>& leases, Millis new_expiry) {
  return guarded("extending leases", [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement s(db_,
                        "UPDATE jobs SET lease_expires_at = ?3 "
                        "WHERE id = ?1 AND lease_token = ?2 AND status = 'running'");
    int held = 0;
    for (const auto& lease : leases) {
      SQLite::bind(s, lease.job_id, lease.token, static_cast<std::int64_t>(new_expiry));
      held += s.exec();
      s.reset();
    }
    tx.commit();
    return held;
  });
}

Result<bool> SqliteStore::begin_reask(const LeaseRef& lease) {
  return guarded("recording a re-ask", [&]() -> Result<bool> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto s = query(db_,
                   "SELECT attempts < max_attempts FROM jobs "
                   "WHERE id = ?1 AND lease_token = ?2 AND status = 'running'",
                   lease.job_id, lease.token);
    if (!s.executeStep()) {
      return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    }
    bool attempts_left = s.getColumn(0).getInt() != 0;
    s.reset();
    if (attempts_left) {
      query(db_, "UPDATE jobs SET attempts = attempts + 1 WHERE id = ?1", lease.job_id).exec();
    }
    tx.commit();
    return attempts_left;
  });
}

namespace {

std::string json_list(const std::vector<std::string>& items) {
  return json(items).dump();
}

void insert_content(SQLite::Database& db, const Job& job, const StepOutput& output) {
  switch (job.kind) {
    case JobKind::subject: {
      SQLite::Statement s(db,
                          "INSERT INTO chapters (job_id, root_id, position, title, summary) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
      for (std::size_t i = 0; i < output.chapters.size(); ++i) {
        SQLite::bind(s, job.id, job.root_id, static_cast<int>(i + 1), output.chapters[i].title,
                     output.chapters[i].summary);
        s.exec();
        s.reset();
      }
      break;
    }
    case JobKind::chapter: {
      SQLite::Statement s(db,
                          "INSERT INTO topics (job_id, root_id, position, title, objectives) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
      for (std::size_t i = 0; i < output.topics.size(); ++i) {
        SQLite::bind(s, job.id, job.root_id, static_cast<int>(i + 1), output.topics[i].title,
                     json_list(output.topics[i].objectives));
        s.exec();
        s.reset();
      }
      break;
    }
    case JobKind::note:
      if (output.note) {
        query(db,
              "INSERT INTO notes (job_id, root_id, markdown, key_points) "
              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
              job.id, job.root_id, output.note->markdown, json_list(output.note->key_points))
            .exec();
      }
      break;
    case JobKind::questions: {
      SQLite::Statement s(db,
                          "INSERT INTO questions (job_id, root_id, position, type, prompt, "
                          "options, answer, explanation, difficulty) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING");
      for (std::size_t i = 0; i < output.questions.size(); ++i) {
        const Question& q = output.questions[i];
        SQLite::bind(s, job.id, job.root_id, static_cast<int>(i + 1), q.type, q.prompt,
                     json_list(q.options), q.answer, q.explanation, q.difficulty);
        s.exec();
        s.reset();
      }
      break;
    }
  }
}

}  // namespace

Status SqliteStore::complete_step(const LeaseRef& lease, const StepOutput& output, Millis now) {
  return guarded("saving a step result", [&]() -> Status {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::string sql = fmt::format(
        "UPDATE jobs SET status = 'succeeded', finished_at = ?3, updated_at = ?3, "
        "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL, last_error = NULL "
        "WHERE id = ?1 AND lease_token = ?2 AND status = 'running' RETURNING {}",
        kJobColumns);
    auto s = query(db_, sql.c_str(), lease.job_id, lease.token, static_cast<std::int64_t>(now));
    if (!s.executeStep()) {
      return make_error(ErrorKind::conflict,
                        "job " + lease.job_id + ": lease lost, result discarded");
    }
    Job job = read_job(s);
    s.reset();
    insert_content(db_, job, output);
    sqlite::insert_jobs(db_, output.children, now);
    std::string kind = fmt::format("kind=\"{}\"", to_string(job.kind));
    add_metric(db_, metrics::kJobsCompleted, kind, 1);
    double seconds = static_cast<double>(now - job.started_at) / 1000.0;
    for (const auto& sample : metrics::duration_observation(to_string(job.kind), seconds)) {
      add_metric(db_, sample.name, sample.labels, sample.value);
    }
    sqlite::close_root_if_finished(db_, job.root_id, now);
    tx.commit();
    return ok_status();
  });
}

Status SqliteStore::finish_attempt(const LeaseRef& lease, const std::string& error, bool retry,
                                   Millis run_after, Millis now) {
  return guarded("saving a step failure", [&]() -> Status {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto s = query(db_,
                   "UPDATE jobs SET status = ?3, last_error = ?4, run_after = ?5, updated_at = ?6, "
                   "  finished_at = CASE WHEN ?3 = 'failed' THEN ?6 END, "
                   "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
                   "WHERE id = ?1 AND lease_token = ?2 AND status = 'running' "
                   "RETURNING kind, root_id",
                   lease.job_id, lease.token, retry ? "pending" : "failed", error,
                   static_cast<std::int64_t>(run_after), static_cast<std::int64_t>(now));
    if (!s.executeStep()) {
      return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    }
    std::string kind = s.getColumn(0).getString();
    std::string root_id = s.getColumn(1).getString();
    s.reset();
    add_metric(db_, retry ? metrics::kJobsRetried : metrics::kJobsFailed,
               fmt::format("kind=\"{}\"", kind), 1);
    if (!retry) sqlite::close_root_if_finished(db_, root_id, now);
    tx.commit();
    return ok_status();
  });
}

Status SqliteStore::release_step(const LeaseRef& lease, const std::string& error,
                                 Millis run_after) {
  return finish_attempt(lease, error, true, run_after, run_after);
}

Status SqliteStore::fail_step(const LeaseRef& lease, const std::string& error, Millis now) {
  return finish_attempt(lease, error, false, now, now);
}

Status SqliteStore::log_call(const CallRecord& call) {
  return guarded("logging a model call", [&]() -> Status {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto s =
        query(db_,
              "INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, "
              "prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms, error, "
              "used, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
              call.job_id, call.root_id, call.attempt, call.model, call.http_status,
              static_cast<std::int64_t>(call.usage.prompt),
              static_cast<std::int64_t>(call.usage.completion),
              static_cast<std::int64_t>(call.usage.cached), call.cost_usd,
              static_cast<std::int64_t>(call.latency_ms));
    bind_nullable(s, 11, call.error);
    s.bind(12, call.used ? 1 : 0);
    s.bind(13, static_cast<std::int64_t>(call.created_at));
    s.exec();
    if (call.cost_usd != 0) {
      query(db_, "UPDATE jobs SET actual_cost_usd = actual_cost_usd + ?2 WHERE id = ?1",
            call.job_id, call.cost_usd)
          .exec();
    }
    std::string outcome = call.used ? "used" : (call.http_status == 200 ? "rejected" : "error");
    add_metric(db_, metrics::kLlmCalls,
               fmt::format("outcome=\"{}\",status=\"{}\"", outcome, call.http_status), 1);
    add_metric(db_, metrics::kPromptTokens, "", static_cast<double>(call.usage.prompt));
    add_metric(db_, metrics::kCompletionTokens, "", static_cast<double>(call.usage.completion));
    add_metric(db_, metrics::kCachedTokens, "", static_cast<double>(call.usage.cached));
    add_metric(db_, metrics::kCostUsd, "", call.cost_usd);
    tx.commit();
    return ok_status();
  });
}

}  // namespace sqlite
}  // namespace hydrate::store
