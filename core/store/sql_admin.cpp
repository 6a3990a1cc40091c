// Operator and reconcile work of the SQL store: cancel, requeue, locks, lease rescue, cascade
// repair, closing roots, stuck work (metrics: sql_metrics.cpp).
#include <fmt/format.h>

#include "core/metrics.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

constexpr const char* kSubtree =
    "WITH RECURSIVE subtree (id) AS (SELECT CAST(?1 AS TEXT) UNION ALL "
    "  SELECT j.id FROM jobs j JOIN subtree s ON j.parent_id = s.id) ";

// (root id, whether the job is a root) or nullopt when the job does not exist.
std::optional<std::pair<std::string, bool>> locate(Connection& db, const std::string& job_id) {
  auto rows = db.run(
      "SELECT root_id, CASE WHEN parent_id IS NULL THEN 1 ELSE 0 END FROM jobs "
      "WHERE id = ?1",
      params(job_id));
  if (rows.empty()) return std::nullopt;
  return std::make_pair(rows.front().text(0), rows.front().int64(1) != 0);
}

}  // namespace

Result<int> SqlStore::cancel(const std::string& job_id, const std::string& reason, Millis now) {
  return write("cancelling " + job_id, [&]() -> Result<int> {
    auto found = locate(*db_, job_id);
    if (!found) return make_error(ErrorKind::not_found, "job " + job_id + " not found");
    auto [root_id, is_root] = *found;
    const char* set =
        "UPDATE jobs SET status = 'cancelled', finished_at = ?2, updated_at = ?2, "
        "  last_error = ?3, lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL ";
    std::int64_t changed = 0;
    // Locks are taken in the order every writer takes them: jobs, then the attempt log (a
    // tree's open claims are those of its running steps, cancelled here), then roots.
    if (is_root) {
      changed = run(fmt::format("{} WHERE root_id = ?1 AND status IN ('pending', 'running')", set),
                    params(job_id, now, "cancelled: " + reason))
                    .affected;
      run("UPDATE attempts SET outcome = 'cancelled', ended_at = ?2 "
          "WHERE outcome IS NULL AND root_id = ?1",
          params(job_id, now));
      run("UPDATE roots SET status = 'cancelled', reason = ?3, finished_at = ?2 "
          "WHERE job_id = ?1 AND status IN ('pending', 'running')",
          params(job_id, now, reason));
      // Its open batches: cancelled at the provider by the batch cycle (and by the cancel
      // command when it can), their billed lines still logged.
      run("UPDATE batches SET cancel_requested = 1, next_poll_at = ?2 "
          "WHERE root_id = ?1 AND state NOT IN ('applied', 'abandoned')",
          params(job_id, now));
    } else {
      changed = run(fmt::format("{}{} WHERE id IN (SELECT id FROM subtree) "
                                "AND status IN ('pending', 'running')",
                                kSubtree, set),
                    params(job_id, now, "cancelled: " + reason))
                    .affected;
      run(fmt::format("{}UPDATE attempts SET outcome = 'cancelled', ended_at = ?2 "
                      "WHERE outcome IS NULL AND job_id IN (SELECT id FROM subtree)",
                      kSubtree),
          params(job_id, now));
      close_root(*db_, root_id, now);
    }
    return static_cast<int>(changed);
  });
}

Result<int> SqlStore::requeue(const std::string& job_id, Millis now) {
  return write("requeueing", [&]() -> Result<int> {
    // {0} is the placeholder of now.
    const char* set =
        "UPDATE jobs SET status = 'pending', attempts = 0, run_after = {0}, updated_at = {0}, "
        "  transient_retries = 0, first_transient_at = NULL, "
        "  finished_at = NULL, lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL ";
    if (job_id.empty()) {
      auto moved = run(fmt::format(fmt::runtime(set), "?1") +
                           // The root's status by its key, per failed step: as a join,
                           // PostgreSQL would read every root.
                           "WHERE status = 'failed' AND (SELECT r.status FROM roots r "
                           "WHERE r.job_id = jobs.root_id) <> 'cancelled'",
                       params(now))
                       .affected;
      run("UPDATE roots SET status = 'running', reason = NULL, finished_at = NULL "
          "WHERE status = 'failed' AND EXISTS (SELECT 1 FROM jobs "
          "WHERE jobs.root_id = roots.job_id AND jobs.status = 'pending')");
      if (moved > 0) announce_work();
      return static_cast<int>(moved);
    }
    auto found = locate(*db_, job_id);
    if (!found) return make_error(ErrorKind::not_found, "job " + job_id + " not found");
    auto [root_id, is_root] = *found;
    std::string update = fmt::format(fmt::runtime(set), "?2");
    std::string sql = is_root ? update + "WHERE root_id = ?1 AND status IN ('failed', 'cancelled')"
                              : kSubtree + update +
                                    "WHERE id IN (SELECT id FROM subtree) "
                                    "AND status IN ('failed', 'cancelled')";
    auto moved = run(sql, params(job_id, now)).affected;
    if (moved > 0) {
      run("UPDATE roots SET status = 'running', reason = NULL, finished_at = NULL "
          "WHERE job_id = ?1 AND status IN ('failed', 'cancelled', 'succeeded')",
          params(root_id));
      announce_work();
    }
    return static_cast<int>(moved);
  });
}

Result<RootRecord> SqlStore::set_budget(const std::string& root_id, double budget_usd) {
  return write("setting the budget of " + root_id, [&]() -> Result<RootRecord> {
    // The spend the reservations compare with the budget (root_spend): the tree's counters'.
    auto rows =
        run("SELECT (SELECT c.cost_usd FROM tree_counts c WHERE c.root_id = ?1) "
            "FROM roots WHERE job_id = ?1",
            params(root_id));
    if (rows.empty()) return make_error(ErrorKind::not_found, "root job " + root_id + " not found");
    double spent = rows.front().real(0);
    if (budget_usd > 0 && budget_usd <= spent) {
      return make_error(ErrorKind::over_budget,
                        fmt::format("a budget of ${:.4f} is not above what root {} already spent "
                                    "(${:.4f})",
                                    budget_usd, root_id, spent));
    }
    run("UPDATE roots SET budget_usd = ?2 WHERE job_id = ?1", params(root_id, budget_usd));
    auto root = read_root(root_id);
    if (!root) return make_error(ErrorKind::permanent, "root " + root_id + " vanished");
    return *root;
  });
}

Result<LockOutcome> SqlStore::try_lock(const std::string& name, const std::string& holder,
                                       Millis ttl_ms, Millis now) {
  return write("taking lock " + name, [&]() -> Result<LockOutcome> {
    run("INSERT INTO locks (name, holder, expires_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = "
        "excluded.expires_at "
        "WHERE locks.expires_at < ?4 OR locks.holder = excluded.holder",
        params(name, holder, now + ttl_ms, now));
    auto rows = run("SELECT holder, expires_at FROM locks WHERE name = ?1", params(name));
    LockOutcome outcome;
    outcome.holder = rows.front().text(0);
    outcome.expires_at = rows.front().int64(1);
    outcome.acquired = outcome.holder == holder;
    return outcome;
  });
}

Status SqlStore::release_lock(const std::string& name, const std::string& holder,
                              Millis keep_until) {
  return write("releasing lock " + name, [&]() -> Status {
    if (keep_until > 0) {
      run("UPDATE locks SET expires_at = ?3 WHERE name = ?1 AND holder = ?2",
          params(name, holder, keep_until));
    } else {
      run("DELETE FROM locks WHERE name = ?1 AND holder = ?2", params(name, holder));
    }
    return ok_status();
  });
}

Result<int> SqlStore::rescue_expired_leases(Millis now) {
  return write("rescuing expired leases", [&]() -> Result<int> {
    auto rows =
        run("UPDATE jobs SET "
            "  status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
            "  finished_at = CASE WHEN attempts >= max_attempts THEN CAST(?1 AS BIGINT) END, "
            "  last_error = 'lease of ' || coalesce(lease_holder, 'unknown') || ' expired' || "
            "    CASE WHEN attempts >= max_attempts THEN ' after ' || attempts || ' attempt(s)' "
            "    ELSE '' END, "
            // run_after stays (the time the step has been due since, never later than now),
            // so a rescued step keeps its place in the queue, before the pending steps that
            // came due while it was held (set to now, it waited behind all of them), and one
            // millisecond earlier, before those that came due with it: a tree's leaves all
            // come due at one instant, and the claim takes equals in no particular order.
            "  run_after = CASE WHEN run_after > ?1 THEN ?1 ELSE run_after END - 1, "
            "  updated_at = ?1, "
            "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
            "WHERE status = 'running' AND lease_expires_at < ?1 "
            "RETURNING root_id, status, kind, id",
            params(now));
    std::vector<std::string> failed_roots;
    for (const auto& row : rows.rows) {
      // After the job, as every writer orders its locks: the claim whose lease ran out.
      run("UPDATE attempts SET outcome = 'lease_lost', ended_at = ?2 "
          "WHERE outcome IS NULL AND job_id = ?1",
          params(row.text(3), now));
      if (row.text(1) != "failed") continue;
      failed_roots.push_back(row.text(0));
      add_metric(*db_, metrics::kJobsFailed, fmt::format("kind=\"{}\"", row.text(2)), 1);
    }
    for (const auto& root : failed_roots) close_root(*db_, root, now);
    if (rows.rows.size() > failed_roots.size()) announce_work();  // some went back to pending
    return static_cast<int>(rows.rows.size());
  });
}

Result<std::vector<OrphanedContent>> SqlStore::find_orphaned_content(int limit) {
  return read("looking for missing children", [&]() -> Result<std::vector<OrphanedContent>> {
    std::vector<OrphanedContent> out;
    // Which open trees lack a child, from their counters (tree_counts, kept in the transactions
    // that write the jobs and the content): every tree holds its subject step, a chapter step
    // per chapter row and leaves_per_topic leaves per topic row, so a tree whose job count is
    // anything else (or that has no counters) is read in full below. A healthy tree costs one
    // probe of its counters, finished history nothing: the open roots come from roots_open, and
    // the counters from a subquery per root, which both planners run by the primary key (as a
    // join, PostgreSQL would hash every tree's counters).
    auto trees =
        run("SELECT r.job_id, r.leaves_per_topic FROM roots r "
            "WHERE r.status IN ('pending', 'running') "
            "AND coalesce((SELECT c.pending + c.running + c.succeeded + c.failed + c.cancelled "
            "  - 1 - c.chapter_rows - c.topic_rows * r.leaves_per_topic "
            "  FROM tree_counts c WHERE c.root_id = r.job_id), -1) <> 0 "
            "ORDER BY r.created_at LIMIT ?1",
            params(limit));
    std::string parent = job_columns("p");
    std::size_t o = kJobColumnCount;
    // One tree at a time, each query on the tree's id, so each starts from its index (chapters'
    // primary key, topics_root) whatever the planner makes of the other trees. CROSS JOIN keeps
    // SQLite's planner to that order (it would otherwise start from every succeeded job, by
    // jobs_status_kind); PostgreSQL plans it as any inner join. At most limit missing children
    // of each kind in all.
    int chapter_room = limit, topic_room = limit;
    for (const auto& tree : trees.rows) {
      if (chapter_room <= 0 && topic_room <= 0) break;
      const std::string root_id = tree.text(0);
      auto chapters =
          run(fmt::format("SELECT {}, c.position, c.title, c.summary FROM chapters c "
                          "CROSS JOIN jobs p WHERE c.job_id = ?1 "
                          "AND p.id = c.job_id AND p.status = 'succeeded' "
                          "AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.parent_id = c.job_id "
                          "  AND k.kind = 'chapter' AND k.position = c.position) LIMIT ?2",
                          parent),
              params(root_id, chapter_room));
      chapter_room -= static_cast<int>(chapters.rows.size());
      for (const auto& row : chapters.rows) {
        OrphanedContent orphan;
        orphan.parent = read_job(row);
        orphan.position = row.int32(o);
        orphan.chapter = ChapterPlan{row.text(o + 1), row.text(o + 2)};
        out.push_back(std::move(orphan));
      }
      auto topics =
          run(fmt::format("SELECT {}, t.position, t.title, t.objectives FROM topics t "
                          "CROSS JOIN jobs p WHERE t.root_id = ?1 "
                          "AND p.id = t.job_id AND p.status = 'succeeded' "
                          "AND (SELECT count(*) FROM jobs k WHERE k.parent_id = t.job_id "
                          "  AND k.position = t.position AND k.kind IN ('note', 'questions')) "
                          "  < ?2 LIMIT ?3",
                          parent),
              params(root_id, tree.int64(1), topic_room));
      topic_room -= static_cast<int>(topics.rows.size());
      for (const auto& row : topics.rows) {
        OrphanedContent orphan;
        orphan.parent = read_job(row);
        orphan.position = row.int32(o);
        orphan.topic = TopicPlan{row.text(o + 1), string_list(row.text(o + 2))};
        out.push_back(std::move(orphan));
      }
    }
    return out;
  });
}

Result<int> SqlStore::insert_jobs(const std::vector<NewJob>& jobs, Millis now) {
  return write("inserting jobs", [&]() -> Result<int> {
    int inserted = insert_job_rows(*db_, jobs, now);
    if (inserted > 0) announce_work();
    return inserted;
  });
}

Result<std::vector<std::string>> SqlStore::open_root_ids(int limit) {
  return read("listing open roots", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& row : run("SELECT job_id FROM roots WHERE status IN ('pending', 'running') "
                               "ORDER BY created_at LIMIT ?1",
                               params(limit))
                               .rows) {
      out.push_back(row.text(0));
    }
    return out;
  });
}

Result<std::vector<std::string>> SqlStore::settled_open_root_ids(int limit) {
  return read("listing settled open roots", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& row :
         // Each open root's counters by their key (as a join, PostgreSQL would hash every
         // tree's counters).
         run("SELECT r.job_id FROM roots r WHERE r.status IN ('pending', 'running') "
             "AND (SELECT c.pending + c.running FROM tree_counts c "
             "WHERE c.root_id = r.job_id) = 0 ORDER BY r.created_at LIMIT ?1",
             params(limit))
             .rows) {
      out.push_back(row.text(0));
    }
    return out;
  });
}

Result<std::optional<JobStatus>> SqlStore::close_root_if_finished(const std::string& root_id,
                                                                  Millis now) {
  return write("closing root " + root_id, [&]() -> Result<std::optional<JobStatus>> {
    return close_root(*db_, root_id, now);
  });
}

Result<std::vector<Job>> SqlStore::find_stuck(Millis now, Millis threshold_ms, int limit) {
  return read("looking for stuck work", [&]() -> Result<std::vector<Job>> {
    std::vector<Job> out;
    for (const auto& row :
         run(fmt::format("SELECT {} FROM jobs WHERE status = 'pending' AND run_after < ?1 "
                         "ORDER BY run_after LIMIT ?2",
                         kJobColumns),
             params(now - threshold_ms, limit))
             .rows) {
      out.push_back(read_job(row));
    }
    return out;
  });
}

}  // namespace hydrate::store::sql
