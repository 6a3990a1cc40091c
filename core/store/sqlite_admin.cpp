// Operator and reconcile work of the SQLite store: cancel, requeue, locks, lease rescue,
// cascade repair, closing roots, stuck work, metrics.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "core/store/sqlite_store_impl.hpp"

namespace hydrate::store::sqlite {

namespace {

constexpr const char* kSubtree =
    "WITH RECURSIVE subtree (id) AS (SELECT ?1 UNION ALL "
    "  SELECT j.id FROM jobs j JOIN subtree s ON j.parent_id = s.id) ";

std::int64_t ms(Millis value) {
  return static_cast<std::int64_t>(value);
}

}  // namespace

Result<int> SqliteStore::cancel(const std::string& job_id, const std::string& reason, Millis now) {
  return guarded("cancelling " + job_id, [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto found = query(db_, "SELECT root_id, parent_id IS NULL FROM jobs WHERE id = ?1", job_id);
    if (!found.executeStep())
      return make_error(ErrorKind::not_found, "job " + job_id + " not found");
    std::string root_id = found.getColumn(0).getString();
    bool is_root = found.getColumn(1).getInt() != 0;
    found.reset();
    int changed = 0;
    const char* set =
        "UPDATE jobs SET status = 'cancelled', finished_at = ?2, updated_at = ?2, "
        "  last_error = ?3, lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL ";
    if (is_root) {
      changed = query(db_,
                      fmt::format("{} WHERE root_id = ?1 AND status IN ('pending', 'running')", set)
                          .c_str(),
                      job_id, ms(now), "cancelled: " + reason)
                    .exec();
      query(db_,
            "UPDATE roots SET status = 'cancelled', reason = ?3, finished_at = ?2 "
            "WHERE job_id = ?1 AND status IN ('pending', 'running')",
            job_id, ms(now), reason)
          .exec();
    } else {
      changed = query(db_,
                      fmt::format("{}{} WHERE id IN (SELECT id FROM subtree) "
                                  "AND status IN ('pending', 'running')",
                                  kSubtree, set)
                          .c_str(),
                      job_id, ms(now), "cancelled: " + reason)
                    .exec();
      sqlite::close_root_if_finished(db_, root_id, now);
    }
    tx.commit();
    return changed;
  });
}

Result<int> SqliteStore::requeue(const std::string& job_id, Millis now) {
  return guarded("requeueing", [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const char* set =
        "UPDATE jobs SET status = 'pending', attempts = 0, run_after = ?2, updated_at = ?2, "
        "  finished_at = NULL, lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL ";
    int moved = 0;
    if (job_id.empty()) {
      moved = query(db_,
                    fmt::format("{} WHERE status = 'failed' AND root_id IN "
                                "(SELECT job_id FROM roots WHERE status != 'cancelled')",
                                set)
                        .c_str(),
                    "", ms(now))
                  .exec();
      query(db_,
            "UPDATE roots SET status = 'running', reason = NULL, finished_at = NULL "
            "WHERE status = 'failed' AND EXISTS (SELECT 1 FROM jobs WHERE jobs.root_id = "
            "roots.job_id "
            "AND jobs.status = 'pending')")
          .exec();
    } else {
      auto found = query(db_, "SELECT root_id, parent_id IS NULL FROM jobs WHERE id = ?1", job_id);
      if (!found.executeStep())
        return make_error(ErrorKind::not_found, "job " + job_id + " not found");
      std::string root_id = found.getColumn(0).getString();
      bool is_root = found.getColumn(1).getInt() != 0;
      found.reset();
      std::string where = is_root ? "WHERE root_id = ?1 AND status IN ('failed', 'cancelled')"
                                  : "WHERE id IN (SELECT id FROM subtree) "
                                    "AND status IN ('failed', 'cancelled')";
      moved = query(db_, fmt::format("{}{} {}", is_root ? "" : kSubtree, set, where).c_str(),
                    job_id, ms(now))
                  .exec();
      if (moved > 0) {
        query(db_,
              "UPDATE roots SET status = 'running', reason = NULL, finished_at = NULL "
              "WHERE job_id = ?1 AND status IN ('failed', 'cancelled', 'succeeded')",
              root_id)
            .exec();
      }
    }
    tx.commit();
    return moved;
  });
}

Result<LockOutcome> SqliteStore::try_lock(const std::string& name, const std::string& holder,
                                          Millis ttl_ms, Millis now) {
  return guarded("taking lock " + name, [&]() -> Result<LockOutcome> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    query(db_,
          "INSERT INTO locks (name, holder, expires_at) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = "
          "excluded.expires_at "
          "WHERE locks.expires_at < ?4 OR locks.holder = excluded.holder",
          name, holder, ms(now + ttl_ms), ms(now))
        .exec();
    auto s = query(db_, "SELECT holder, expires_at FROM locks WHERE name = ?1", name);
    s.executeStep();
    LockOutcome outcome;
    outcome.holder = s.getColumn(0).getString();
    outcome.expires_at = s.getColumn(1).getInt64();
    outcome.acquired = outcome.holder == holder;
    s.reset();
    tx.commit();
    return outcome;
  });
}

Status SqliteStore::release_lock(const std::string& name, const std::string& holder) {
  return guarded("releasing lock " + name, [&]() -> Status {
    query(db_, "DELETE FROM locks WHERE name = ?1 AND holder = ?2", name, holder).exec();
    return ok_status();
  });
}

Result<int> SqliteStore::rescue_expired_leases(Millis now) {
  return guarded("rescuing expired leases", [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto s =
        query(db_,
              "UPDATE jobs SET "
              "  status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
              "  finished_at = CASE WHEN attempts >= max_attempts THEN ?1 END, "
              "  last_error = 'lease of ' || coalesce(lease_holder, '?') || ' expired' || "
              "    CASE WHEN attempts >= max_attempts THEN ' after ' || attempts || "
              "    ' attempt(s)' ELSE '' END, "
              "  run_after = ?1, updated_at = ?1, "
              "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
              "WHERE status = 'running' AND lease_expires_at < ?1 "
              "RETURNING root_id, status, kind",
              ms(now));
    std::vector<std::string> failed_roots;
    int rescued = 0;
    while (s.executeStep()) {
      ++rescued;
      if (s.getColumn(1).getString() == "failed") {
        failed_roots.push_back(s.getColumn(0).getString());
        add_metric(db_, metrics::kJobsFailed,
                   fmt::format("kind=\"{}\"", s.getColumn(2).getString()), 1);
      }
    }
    s.reset();
    for (const auto& root : failed_roots) sqlite::close_root_if_finished(db_, root, now);
    tx.commit();
    return rescued;
  });
}

Result<std::vector<OrphanedContent>> SqliteStore::find_orphaned_content(int limit) {
  return guarded("looking for missing children", [&]() -> Result<std::vector<OrphanedContent>> {
    std::vector<OrphanedContent> out;
    std::string parent_columns;
    for (std::string_view rest = kJobColumns; !rest.empty();) {
      auto comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      parent_columns += (parent_columns.empty() ? "p." : ", p.") + std::string(name);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    auto chapters =
        query(db_,
              fmt::format("SELECT {}, c.position, c.title, c.summary FROM roots r "
                          "JOIN chapters c ON c.job_id = r.job_id JOIN jobs p ON p.id = c.job_id "
                          "WHERE r.status IN ('pending', 'running') AND p.status = 'succeeded' "
                          "AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.parent_id = c.job_id "
                          "  AND k.kind = 'chapter' AND k.position = c.position) LIMIT ?1",
                          parent_columns)
                  .c_str(),
              limit);
    while (chapters.executeStep()) {
      OrphanedContent orphan;
      orphan.parent = read_job(chapters);
      orphan.position = chapters.getColumn(20).getInt();
      orphan.chapter =
          ChapterPlan{chapters.getColumn(21).getString(), chapters.getColumn(22).getString()};
      out.push_back(std::move(orphan));
    }
    auto topics =
        query(db_,
              fmt::format("SELECT {}, t.position, t.title, t.objectives FROM roots r "
                          "JOIN topics t ON t.root_id = r.job_id JOIN jobs p ON p.id = t.job_id "
                          "WHERE r.status IN ('pending', 'running') AND p.status = 'succeeded' "
                          "AND (SELECT count(*) FROM jobs k WHERE k.parent_id = t.job_id "
                          "  AND k.position = t.position AND k.kind IN ('note', 'questions')) "
                          "  < r.leaves_per_topic LIMIT ?1",
                          parent_columns)
                  .c_str(),
              limit);
    while (topics.executeStep()) {
      OrphanedContent orphan;
      orphan.parent = read_job(topics);
      orphan.position = topics.getColumn(20).getInt();
      auto objectives = nlohmann::json::parse(topics.getColumn(22).getString(), nullptr, false);
      TopicPlan plan{topics.getColumn(21).getString(), {}};
      if (objectives.is_array()) {
        for (const auto& item : objectives) {
          if (item.is_string()) plan.objectives.push_back(item.get<std::string>());
        }
      }
      orphan.topic = std::move(plan);
      out.push_back(std::move(orphan));
    }
    return out;
  });
}

Result<int> SqliteStore::insert_jobs(const std::vector<NewJob>& jobs, Millis now) {
  return guarded("inserting jobs", [&]() -> Result<int> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    int inserted = sqlite::insert_jobs(db_, jobs, now);
    tx.commit();
    return inserted;
  });
}

Result<std::vector<std::string>> SqliteStore::open_root_ids(int limit) {
  return guarded("listing open roots", [&]() -> Result<std::vector<std::string>> {
    auto s = query(db_,
                   "SELECT job_id FROM roots WHERE status IN ('pending', 'running') "
                   "ORDER BY created_at LIMIT ?1",
                   limit);
    std::vector<std::string> out;
    while (s.executeStep()) out.push_back(s.getColumn(0).getString());
    return out;
  });
}

Result<std::optional<JobStatus>> SqliteStore::close_root_if_finished(const std::string& root_id,
                                                                     Millis now) {
  return guarded("closing root " + root_id, [&]() -> Result<std::optional<JobStatus>> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto status = sqlite::close_root_if_finished(db_, root_id, now);
    tx.commit();
    return status;
  });
}

Result<std::vector<Job>> SqliteStore::find_stuck(Millis now, Millis threshold_ms, int limit) {
  return guarded("looking for stuck work", [&]() -> Result<std::vector<Job>> {
    auto s = query(db_,
                   fmt::format("SELECT {} FROM jobs WHERE status = 'pending' AND run_after < ?1 "
                               "ORDER BY priority DESC, run_after LIMIT ?2",
                               kJobColumns)
                       .c_str(),
                   ms(now - threshold_ms), limit);
    std::vector<Job> out;
    while (s.executeStep()) out.push_back(read_job(s));
    return out;
  });
}

Status SqliteStore::record_reconcile_run(const ReconcileRun& run) {
  return guarded("recording the reconcile run", [&]() -> Status {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    query(db_,
          "INSERT INTO reconcile_runs (started_at, finished_at, rescued, repaired, rolled_up, "
          "closed, stuck) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
          ms(run.started_at), ms(run.finished_at), run.rescued, run.repaired, run.rolled_up,
          run.closed, run.stuck)
        .exec();
    set_metric(db_, metrics::kReconcilerLastRun, "", static_cast<double>(run.finished_at) / 1000.0);
    add_metric(db_, metrics::kReconcilerRuns, "", 1);
    tx.commit();
    return ok_status();
  });
}

Result<std::vector<MetricSample>> SqliteStore::read_metrics() {
  return guarded("reading metrics", [&]() -> Result<std::vector<MetricSample>> {
    auto s = query(db_, "SELECT name, labels, value FROM metrics ORDER BY name, labels");
    std::vector<MetricSample> out;
    while (s.executeStep()) {
      out.push_back(
          {s.getColumn(0).getString(), s.getColumn(1).getString(), s.getColumn(2).getDouble()});
    }
    return out;
  });
}

}  // namespace hydrate::store::sqlite
